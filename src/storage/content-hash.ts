import { createHash } from 'node:crypto';

/** Strong ETag from the bytes themselves: equal bytes, equal tag, on every server. */
export function contentEtag(body: Buffer): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}
