import { createHmac } from 'node:crypto';
import type { Hmac } from './signature.js';

/** The server checks with node:crypto: ~6x faster than the pure-TypeScript HMAC the browser builder uses (same bytes). */
export const nodeHmac: Hmac = (key, message) => createHmac('sha256', key).update(message).digest('base64url');
