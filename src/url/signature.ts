/**
 * Signed URLs: `/s-{signature}/{options}/{key}` or, with an expiry, `/s-{signature}-{expires}/{options}/{key}`.
 *
 * - signature: HMAC-SHA256, unpadded URL-safe base64 (always 43 characters), over the message
 *   `/{canonical options}/{key as encodeKey spells it}`, followed by `\n{expires}` when there is an expiry.
 *   The canonical options are what the derivative key uses (docs/url-api.md), so every spelling of the same
 *   transform verifies with one signature, and the derivative key never holds a signature.
 * - expires: Unix time in seconds; the URL is refused (403) from that second on.
 * - keys: any number; the first signs, every one verifies (rotation: add the new key first, drop the old one
 *   once the URLs it signed are gone).
 *
 * Pure on purpose, with no import at all: the same code runs in the server, in a browser (the URL builder) and,
 * generated, in the CloudFront Function at the edge. Every function takes the HMAC to use: `hmacSha256` from
 * ./hmac.ts (pure TypeScript, @noble/hashes) in the server and browsers, the runtime's `crypto` at the edge,
 * where a 10 KB function has no room for a bundled SHA-256.
 */

export const SIGNATURE_PREFIX = 's-';
/** 32 bytes of HMAC-SHA256 in unpadded base64url. */
export const SIGNATURE_LENGTH = 43;
const SIGNATURE_SEGMENT = /^s-([A-Za-z0-9_-]{43})(?:-(\d{1,12}))?$/;

/** HMAC-SHA256 of `message` under `key` (both UTF-8), as unpadded base64url. */
export type Hmac = (key: string, message: string) => string;

/** The signed text: the canonical path, then the expiry when there is one. */
export function signedMessage(canonicalPath: string, expires?: number): string {
  return expires === undefined ? canonicalPath : `${canonicalPath}\n${expires}`;
}

/** The first path segment that signs `canonicalPath` (`/{canonical options}/{encoded key}`) with `key`. */
export function signatureSegment(canonicalPath: string, key: string, expires: number | undefined, hmac: Hmac): string {
  const sig = hmac(key, signedMessage(canonicalPath, expires));
  return expires === undefined ? `${SIGNATURE_PREFIX}${sig}` : `${SIGNATURE_PREFIX}${sig}-${expires}`;
}

export interface ParsedSignature {
  signature: string;
  expires?: number;
}

/** The signature in a first path segment, or undefined when the segment is not a signature. */
export function parseSignatureSegment(segment: string): ParsedSignature | undefined {
  const m = SIGNATURE_SEGMENT.exec(segment);
  if (!m) return undefined;
  return m[2] === undefined ? { signature: m[1] ?? '' } : { signature: m[1] ?? '', expires: Number(m[2]) };
}

/** Whether a first path segment is meant as a signature (well-formed or not): it is never an options segment. */
export function looksSigned(segment: string): boolean {
  return segment.startsWith(SIGNATURE_PREFIX);
}

export type Verdict = 'valid' | 'invalid' | 'expired';

/**
 * Checks a parsed signature against every key. Constant-time per key, and every key is tried even after a
 * match, so the time taken tells nothing about which key (or how much of a signature) matched.
 */
export function verifySignature(
  canonicalPath: string, parsed: ParsedSignature, keys: readonly string[], nowSeconds: number, hmac: Hmac,
): Verdict {
  let matched = false;
  const message = signedMessage(canonicalPath, parsed.expires);
  for (const key of keys) matched = constantTimeEqual(hmac(key, message), parsed.signature) || matched;
  if (!matched) return 'invalid';
  // Expiry is checked only once the signature holds, so a forged expiry is just "invalid".
  return parsed.expires !== undefined && nowSeconds >= parsed.expires ? 'expired' : 'valid';
}

/** Compares two strings in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i % Math.max(1, b.length));
  return diff === 0;
}

/**
 * The check an edge function can run on a raw request path (`/s-{sig}[-{expires}]/{options}/{key}`) without the
 * options parser: it verifies the rest of the path as sent, so it agrees with the server for every URL signed by
 * `buildUrl` / `signPath` / `resizer sign` (which write the canonical spelling) and refuses other spellings of
 * them, which the server, canonicalising first, would accept. 'unsigned' when the first segment is no signature.
 */
export function verifySignedPath(rawPath: string, keys: readonly string[], nowSeconds: number, hmac: Hmac): Verdict | 'unsigned' | 'malformed' {
  const slash = rawPath.indexOf('/', 1);
  const first = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
  if (!looksSigned(first)) return 'unsigned';
  const parsed = parseSignatureSegment(first);
  if (!parsed || slash < 0) return 'malformed';
  return verifySignature(rawPath.slice(slash).split('?', 1)[0] ?? '', parsed, keys, nowSeconds, hmac);
}
