import type { CloudFrontFunctionsEvent } from 'aws-lambda';
import { negotiateFormat } from '../ops/auto-format.js';
import type { ParseLimits } from '../ops/spec.js';
import { RESERVED_SEGMENT } from '../url/path.js';
import { buildSegment, parseSegment } from '../url/segment.js';

/**
 * The CloudFront viewer-request function, written over the core's own grammar and compiled into
 * cloudfront-js-2.0 by deploy/aws/lib/viewer-request-code.ts. It makes the URL canonical before the CDN cache,
 * the derivative bucket and the Lambda see it, so all three use one key: `/{canonical segment}/{key}`, with
 * `auto` already turned into the format the Accept header allows.
 */
type Request = CloudFrontFunctionsEvent['request'];
interface Refusal { statusCode: number; statusDescription: string }

export function viewerRequest(event: CloudFrontFunctionsEvent, limits: ParseLimits): Request | Refusal {
  const request = event.request;
  // Service endpoints are for operators on the origin, never for the public.
  if (request.uri === `/${RESERVED_SEGMENT}` || request.uri.indexOf(`/${RESERVED_SEGMENT}/`) === 0) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  const accept = request.headers.accept ? request.headers.accept.value : undefined;
  const uri = canonicalUri(request.uri, accept, limits);
  // A URL the grammar refuses goes on unchanged: the Lambda answers it with a 400 that names the problem.
  if (uri !== undefined) request.uri = uri;
  return request;
}

/** `/{segment}/{key}` in canonical form, or undefined for a URL that is not one. */
export function canonicalUri(uri: string, accept: string | undefined, limits: ParseLimits): string | undefined {
  const slash = uri.indexOf('/', 1);
  if (uri.charAt(0) !== '/' || slash < 0) return undefined;
  try {
    const { spec } = negotiateFormat(parseSegment(decodeURIComponent(uri.slice(1, slash)), limits), accept);
    return cdnPath(buildSegment(spec), uri.slice(slash + 1).split('/').map((part) => decodeURIComponent(part)));
  } catch {
    return undefined;
  }
}

/**
 * The one spelling of a derivative's URL path at the CDN: what this function rewrites requests to, and so what
 * an invalidation must name. The segment stays literal (commas are legal in a path), the key is encoded part by
 * part (given as parts, an encoded slash inside one stays encoded rather than becoming a real one).
 */
export function cdnPath(canonicalSegment: string, key: string | string[]): string {
  const parts = typeof key === 'string' ? key.split('/') : key;
  return `/${canonicalSegment}/${parts.map((part) => encodeURIComponent(part)).join('/')}`;
}
