/**
 * HMAC-SHA256 for signed URLs in pure TypeScript (@noble/hashes, audited, no Node-only import), so the server and
 * the browser URL builder compute the same signatures; edge functions pass their runtime's own HMAC instead.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Hmac } from './signature.js';

const utf8 = new TextEncoder();

/** HMAC-SHA256 of `message` under `key` (both UTF-8), as unpadded base64url. */
export const hmacSha256: Hmac = (key, message) => base64Url(hmac(sha256, utf8.encode(key), utf8.encode(message)));

export function base64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
