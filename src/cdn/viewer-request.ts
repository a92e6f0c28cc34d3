import type { CloudFrontFunctionsEvent } from 'aws-lambda';
import { Forbidden } from '../errors/index.js';
import { negotiateFormat } from '../ops/auto-format.js';
import type { ParseLimits } from '../ops/spec.js';
import { RequestGate, type AccessRules } from '../url/gate.js';
import { pathOf, RESERVED_SEGMENT } from '../url/path.js';
import { buildSegment } from '../url/segment.js';
import { EDGE_SIGNATURE_HEADER, signatureSegment, type Hmac } from '../url/signature.js';

/**
 * The CloudFront viewer-request function, written over the core's own grammar and access gate and compiled into
 * cloudfront-js-2.0 by deploy/aws/lib/viewer-request-code.ts. Behind CloudFront a hit is served from the
 * derivative bucket and never reaches the Lambda, so this is where signatures, presets and size rules are
 * checked, by the server's RequestGate itself. What passes is made canonical before the CDN cache, the bucket and
 * the Lambda see it, so all three use one key: `/{canonical segment}/{key}`, presets expanded, the signature
 * segment gone and `auto` turned into the format the Accept header allows.
 */
type Request = CloudFrontFunctionsEvent['request'];
interface Refusal { statusCode: number; statusDescription: string }

/** The access rules as plain data, written into the function's code at build time (src/config/access.ts makes them). */
export interface EdgeRules {
  presets: Array<[string, string]>;
  allowedWidths: number[];
  allowedHeights: number[];
  allowedSegments: string[];
  presetsOnly: boolean;
}

export interface EdgeContext {
  limits: ParseLimits;
  rules: EdgeRules;
  /** The signing keys from the KeyValueStore, first signs; [] when signing is off; undefined when it is on but they could not be read. */
  keys: string[] | undefined;
  /** null when signing is off (no key: never called). */
  hmac: Hmac | null;
  nowSeconds: number;
}

export function viewerRequest(event: CloudFrontFunctionsEvent, edge: EdgeContext): Request | Refusal {
  const request = event.request;
  // Only this function may vouch for a request to the Lambda.
  delete request.headers[EDGE_SIGNATURE_HEADER];
  // Service endpoints are for operators on the origin, never for the public.
  if (request.uri === `/${RESERVED_SEGMENT}` || request.uri.indexOf(`/${RESERVED_SEGMENT}/`) === 0) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  // Signing is on but the keys are unreadable: refuse rather than serve as if nothing were configured.
  if (!edge.keys) return { statusCode: 503, statusDescription: 'Service Unavailable' };
  const r = edge.rules;
  const rules: AccessRules = {
    signingKeys: edge.keys, presets: new Map(r.presets), allowedWidths: new Set(r.allowedWidths),
    allowedHeights: new Set(r.allowedHeights), allowedSegments: new Set(r.allowedSegments), presetsOnly: r.presetsOnly,
  };
  let admitted;
  try {
    admitted = new RequestGate(edge.limits, rules, () => edge.nowSeconds, edge.hmac ?? undefined).parse(request.uri);
  } catch (err) {
    if (err instanceof Forbidden) return { statusCode: 403, statusDescription: 'Forbidden' };
    // A URL the grammar refuses goes on unchanged: the Lambda answers it with a 400 that names the problem.
    return request;
  }
  const accept = request.headers.accept ? request.headers.accept.value : undefined;
  const path = cdnPath(buildSegment(negotiateFormat(admitted.spec, accept).spec), admitted.sourceKey);
  request.uri = path;
  // The Lambda checks this as the path's signature; a viewer's expiry carries over (it may redirect to it, src/lambda/adapter.ts).
  if (edge.keys.length && edge.hmac) request.headers[EDGE_SIGNATURE_HEADER] = { value: signatureSegment(path, edge.keys[0]!, admitted.expires, edge.hmac) };
  return request;
}

/** The keys in the KeyValueStore's value: comma-separated, as RESIZER_SIGNING_KEYS; undefined for none (signing on, no key: fail closed). */
export function keysFrom(text: string): string[] | undefined {
  const keys = text.split(',').map((k) => k.trim()).filter(Boolean);
  return keys.length ? keys : undefined;
}

/** cloudfront-js-2.0's crypto module, the part used here. */
export interface EdgeCrypto {
  createHmac(algorithm: 'sha256', key: string): { update(message: string): { digest(encoding: 'base64'): string } };
}

/**
 * HMAC-SHA256 by the runtime's crypto module, as the unpadded base64url the signatures use. The runtime's
 * documentation promises `base64` (and `hex`) digests; base64url is made from it here.
 */
export function edgeHmac(crypto: EdgeCrypto): Hmac {
  return (key, message) => crypto.createHmac('sha256', key).update(message).digest('base64')
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The one spelling of a derivative's URL path at the CDN: what this function rewrites requests to, and so what
 * an invalidation must name. The segment stays literal (commas are legal in a path), the key is encoded part by
 * part. It is also the path the gate signs, so the edge's signature of it verifies at the Lambda.
 */
export function cdnPath(canonicalSegment: string, key: string): string {
  return pathOf(canonicalSegment, key);
}
