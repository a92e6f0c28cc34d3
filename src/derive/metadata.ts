import { CONTENT_TYPES, sniff } from '../pipeline/formats.js';
import type { StoredDerivative } from '../storage/types.js';

/**
 * What resizer records with each stored derivative (S3 user metadata, the fs sidecar): the ETag of the source it
 * was made from, for revalidation, and when it was made, for Last-Modified. Keys are lower-case.
 */
export const SOURCE_ETAG = 'source-etag';
export const CREATED = 'created';
/**
 * Background re-encode state: `pending` while the bytes are the miss's fast encode (served with the provisional
 * Cache-Control), `done` once re-encoded or kept. Absent (derivatives from before it existed, explicit qN,
 * lossless formats): final. With it, the chosen quality and its SSIM, for `resizer info` and audits.
 */
export const OPTIMISE = 'optimise';
export const QUALITY = 'quality';
export const SSIM = 'ssim';

export function isProvisional(d: StoredDerivative): boolean {
  return d.metadata[OPTIMISE] === 'pending';
}

/** Whole seconds: HTTP dates have no finer grain, and a miss and the hits after it must agree. */
export function creationTime(now = Date.now()): Date {
  return new Date(Math.floor(now / 1000) * 1000);
}

export function derivativeMetadata(sourceEtag: string, created: Date, provisional = false): Record<string, string> {
  return { [SOURCE_ETAG]: sourceEtag, [CREATED]: created.toISOString(), ...(provisional ? { [OPTIMISE]: 'pending' } : {}) };
}

/**
 * A stored derivative as served: Last-Modified from its recorded creation (a store's own clock ticks later than
 * the miss that answered first), and for files placed by hand, which carry no content type, the type of the bytes.
 */
export function asServed(d: StoredDerivative): StoredDerivative {
  const created = Date.parse(d.metadata[CREATED] ?? '');
  const lastModified = Number.isNaN(created) ? d.lastModified : new Date(created);
  if (d.contentType.startsWith('image/')) return { ...d, lastModified };
  const format = sniff(d.body);
  const contentType = format in CONTENT_TYPES ? CONTENT_TYPES[format as keyof typeof CONTENT_TYPES] : 'application/octet-stream';
  return { ...d, lastModified, contentType };
}
