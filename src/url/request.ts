import { derivativeKey } from '../keys/index.js';
import { negotiateFormat } from '../ops/auto-format.js';
import type { CanonicalSpec, ParseLimits } from '../ops/spec.js';
import { encodeKey, splitPath } from './path.js';
import { buildSegment, parseSegment } from './segment.js';

export interface ImageRequest {
  spec: CanonicalSpec;
  sourceKey: string;
  /** Where the derivative is stored: `{canonical segment}/{source key}`. */
  key: string;
  /** The answer depends on Accept (`auto`): caches must key on it. */
  varyAccept: boolean;
}

/**
 * A request path (still percent-encoded, no query) to what it asks for. `auto` becomes the concrete format
 * before the key is built: one derivative per format chosen.
 */
export function parseImagePath(path: string, limits: ParseLimits, accept: string | undefined): ImageRequest {
  const { segment, key: sourceKey } = splitPath(path);
  const { spec, varyAccept } = negotiateFormat(parseSegment(segment, limits), accept);
  return { spec, sourceKey, key: derivativeKey(buildSegment(spec), sourceKey), varyAccept };
}

/** The canonical path of a spec and key: parseImagePath's inverse for a concrete format. */
export function buildPath(spec: CanonicalSpec, sourceKey: string): string {
  return `/${encodeURIComponent(buildSegment(spec))}/${encodeKey(sourceKey)}`;
}
