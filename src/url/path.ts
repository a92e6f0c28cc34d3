import { BadRequest } from '../errors/index.js';

/** The first path segment reserved for service endpoints (`/_/healthz`, `/_/metrics`, ...). */
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
  if (parts.length < 2) throw new BadRequest('Expected /{options}/{image} but received ' + JSON.stringify(rawPath));
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

/** A store key: relative, slash-separated, no empty, `.` or `..` segments, no backslash or control characters. */
export function validateKey(key: string): string {
  if (key.length === 0) throw new BadRequest('Missing image key');
  if (key.length > 1024) throw new BadRequest('Image key longer than 1024 characters');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw new BadRequest('Control character or backslash in image key');
  for (const part of key.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new BadRequest('Empty, "." or ".." segment in image key');
  }
  return key;
}

/** Percent-encodes a key for use in a URL path, keeping its slashes. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
