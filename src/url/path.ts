import { BadRequest, quote } from '../errors/index.js';
import { validateKey } from '../keys/index.js';

/** The first path segment reserved for service endpoints (`/_/healthz`, ...). */
export const RESERVED_SEGMENT = '_';

export interface SplitPath {
  /** The transform segment, percent-decoded (e.g. `400x300,webp`). */
  segment: string;
  /** The source key, percent-decoded, without a leading slash (e.g. `2024/06/cat.jpg`). */
  key: string;
}

const FORBIDDEN_ENCODED = /%(2f|5c|00)/i;

/**
 * Splits a raw request path (still percent-encoded, query removed) into segment and key.
 * Refuses anything that could name a file outside the store: dot segments, encoded slashes or backslashes,
 * NUL and control characters, empty segments.
 */
export function splitPath(rawPath: string): SplitPath {
  if (!rawPath.startsWith('/')) throw new BadRequest('Path must start with /');
  if (FORBIDDEN_ENCODED.test(rawPath)) throw new BadRequest('Encoded slash, backslash or NUL not allowed in path');
  const parts = rawPath.slice(1).split('/').map(decodeSegment);
  if (parts.length < 2) throw new BadRequest(`Expected /{options}/{image} but received ${quote(rawPath)}`);
  const [segment, ...keyParts] = parts as [string, ...string[]];
  return { segment, key: validateKey(keyParts.join('/')) };
}

function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadRequest('Malformed percent-encoding in path');
  }
}

/** Percent-encodes a key for use in a URL path, keeping its slashes. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/**
 * The one spelling of a derivative's URL path: the canonical segment literal (its characters, commas included, are
 * legal in a path), the key encoded part by part. The server, the URL builder and the edge all write it this way.
 */
export function pathOf(canonicalSegment: string, key: string): string {
  return `/${canonicalSegment}/${encodeKey(key)}`;
}
