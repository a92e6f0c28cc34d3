import { BadRequest } from '../errors/index.js';

/**
 * Source keys, shared by the URL grammar (which takes them from a path) and the stores (which turn them into
 * file names or object keys): one rule for what a key may be.
 */

const MAX_KEY_LENGTH = 1024;

/** A store key: relative, slash-separated, no empty, `.` or `..` segments, no backslash or control characters. */
export function validateKey(key: string): string {
  if (key.length === 0) throw new BadRequest('Missing image key');
  if (key.length > MAX_KEY_LENGTH) throw new BadRequest(`Image key longer than ${MAX_KEY_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) throw new BadRequest('Control character or backslash in image key');
  for (const part of key.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new BadRequest('Empty, "." or ".." segment in image key');
  }
  return key;
}

/** The tutorial's layout: the derivative of `/{segment}/{key}` lives at `{canonical segment}/{key}`. */
export function derivativeKey(canonicalSegment: string, sourceKey: string): string {
  return `${canonicalSegment}/${sourceKey}`;
}
