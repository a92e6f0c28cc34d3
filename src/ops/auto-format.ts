import { normalise } from './normalise.js';
import type { CanonicalSpec } from './spec.js';

export interface Negotiated {
  spec: CanonicalSpec;
  /** The response depends on Accept: caches must key on it (`Vary: Accept`). */
  varyAccept: boolean;
}

/**
 * Resolves `auto` to the concrete format the client takes, before the derivative key is built, so each
 * chosen format is its own derivative (`400x300,avif/cat.jpg`). AVIF first, then WebP; with neither, no
 * format at all, which is the source's format, the same derivative as a URL without `auto`.
 * Wildcards do not count: every browser sends `*\/*`, few can show AVIF.
 */
export function negotiateFormat(spec: CanonicalSpec, accept: string | undefined): Negotiated {
  if (spec.format !== 'auto') return { spec, varyAccept: false };
  const types = acceptedImageTypes(accept ?? '');
  const format = types.has('image/avif') ? 'avif' : types.has('image/webp') ? 'webp' : undefined;
  // The concrete format changes what is a default (quality, lossless), so the spec is made canonical again.
  return { spec: normalise({ ...spec, format }), varyAccept: true };
}

/** Media types named in an Accept header with a non-zero q. */
export function acceptedImageTypes(accept: string): Set<string> {
  const types = new Set<string>();
  for (const range of accept.toLowerCase().split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    types.add(type);
  }
  return types;
}
