/**
 * The typed URL builder, for front ends as much as for servers: `buildUrl` and `srcset`, signing when given a
 * key. Imports nothing Node-only (checked by test/url/builder.test.ts), so bundlers can ship it to browsers.
 * Paths come out canonical: the spelling the derivative key uses, which a CDN in front caches once.
 */
import type { ParseLimits, TransformSpec } from '../ops/spec.js';
import { validateKey } from '../keys/index.js';
import { normalise } from '../ops/normalise.js';
import { pathOf } from './path.js';
import { expandPresets } from './presets.js';
import { buildSegment, parseSegment } from './segment.js';
import { hmacSha256 } from './hmac.js';
import { signatureSegment } from './signature.js';

export type { TransformSpec } from '../ops/spec.js';

export interface BuildOptions {
  /** Prepended as is, e.g. `https://img.example.com` (default: a path starting with `/`). */
  base?: string;
  /** Signs the URL with this key (the server's first --signing-key). Keep keys out of browser code: sign on a server, or use presets / allowed sizes there. */
  signingKey?: string;
  /** Unix time in seconds from which the signed URL is refused. */
  expires?: number;
  /** The server's output limits, if not the defaults (8192). */
  limits?: ParseLimits;
}

const DEFAULT_LIMITS: ParseLimits = { maxOutputWidth: 8192, maxOutputHeight: 8192 };

/** The canonical options segment of a spec, or of an options string (`300x200,cover,webp`). */
export function canonicalSegment(transform: TransformSpec | string, limits: ParseLimits = DEFAULT_LIMITS): string {
  return buildSegment(typeof transform === 'string' ? parseSegment(transform, limits) : normalise(transform));
}

/** `/{options}/{image}`, signed (`/s-{sig}[-{expires}]/{options}/{image}`) when `signingKey` is given. */
export function buildUrl(image: string, transform: TransformSpec | string, opts: BuildOptions = {}): string {
  const path = pathOf(canonicalSegment(transform, opts.limits), validateKey(image.replace(/^\/+/, '')));
  const signed = opts.signingKey ? `/${signatureSegment(path, opts.signingKey, opts.expires, hmacSha256)}${path}` : path;
  return `${opts.base ?? ''}${signed}`;
}

/** A `srcset` value: one URL per width (`{url} {w}w`), the other options the same for all. */
export function srcset(image: string, widths: readonly number[], transform: Omit<TransformSpec, 'width'> = {}, opts: BuildOptions = {}): string {
  return widths.map((w) => `${buildUrl(image, { ...transform, width: w }, opts)} ${w}w`).join(', ');
}

/**
 * Signs a request path as written (`/thumb/a.jpg`, `/300x,webp/a b.jpg`): presets expanded, options made
 * canonical. What `resizer sign` prints.
 */
export function signPath(path: string, signingKey: string, opts: { expires?: number; presets?: ReadonlyMap<string, string>; limits?: ParseLimits } = {}): string {
  const m = /^\/?([^/]+)\/(.+)$/.exec(path);
  if (!m) throw new Error(`Expected /{options}/{image} for path but received ${JSON.stringify(path)}`);
  const segment = expandPresets(decodeURIComponent(m[1] ?? ''), opts.presets ?? new Map()).segment;
  const image = (m[2] ?? '').split('/').map((p) => decodeURIComponent(p)).join('/');
  return buildUrl(image, segment, { signingKey, expires: opts.expires, limits: opts.limits });
}
