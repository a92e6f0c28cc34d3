/** RFC 9110 conditional GET: If-None-Match (weak comparison) wins over If-Modified-Since. */
export function isNotModified(
  headers: { ifNoneMatch?: string; ifModifiedSince?: string },
  current: { etag: string; lastModified: Date },
): boolean {
  if (headers.ifNoneMatch !== undefined) {
    const candidates = headers.ifNoneMatch.split(',').map((t) => t.trim());
    if (candidates.includes('*')) return true;
    const opaque = stripWeak(current.etag);
    return candidates.some((c) => stripWeak(c) === opaque);
  }
  if (headers.ifModifiedSince !== undefined) {
    const since = Date.parse(headers.ifModifiedSince);
    if (Number.isNaN(since)) return false;
    return Math.floor(current.lastModified.getTime() / 1000) <= Math.floor(since / 1000);
  }
  return false;
}

function stripWeak(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}
