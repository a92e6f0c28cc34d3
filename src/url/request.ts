import { derivativeKey } from '../keys/index.js';
import { negotiateFormat } from '../ops/auto-format.js';
import type { CanonicalSpec } from '../ops/spec.js';
import type { RequestGate } from './gate.js';
import { pathOf } from './path.js';
import { buildSegment } from './segment.js';

export interface ImageRequest {
  spec: CanonicalSpec;
  sourceKey: string;
  /** Where the derivative is stored: `{canonical segment}/{source key}`. */
  key: string;
  /** The answer depends on Accept (`auto`): caches must key on it. */
  varyAccept: boolean;
}

/**
 * A request path (still percent-encoded, no query) to what it asks for, through the gate (signature, presets,
 * size rules; src/url/gate.ts). `auto` becomes the concrete format before the key is built: one derivative per
 * format chosen.
 */
export function parseImagePath(path: string, gate: RequestGate, accept: string | undefined): ImageRequest {
  const { spec: requested, sourceKey } = gate.parse(path);
  const { spec, varyAccept } = negotiateFormat(requested, accept);
  return { spec, sourceKey, key: derivativeKey(buildSegment(spec), sourceKey), varyAccept };
}

/** The canonical path of a spec and key: parseImagePath's inverse for a concrete format. */
export function buildPath(spec: CanonicalSpec, sourceKey: string): string {
  return pathOf(buildSegment(spec), sourceKey);
}
