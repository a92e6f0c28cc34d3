import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AppRequest, AppResponse } from '../app.js';
import { encodeKey } from '../url/path.js';
import { EDGE_SIGNATURE_HEADER, looksSigned } from '../url/signature.js';

/**
 * The three HTTP event shapes that reach the handler, translated to and from the app's transport-neutral types.
 * Function URLs and HTTP APIs send payload 2.0 (`rawPath`, still percent-encoded); REST APIs send 1.0, whose
 * `path` is already decoded.
 */
export type HttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;
export type HttpResult = APIGatewayProxyStructuredResultV2 & APIGatewayProxyResult;

export function isHttpEvent(event: unknown): event is HttpEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return typeof e.rawPath === 'string' || typeof e.httpMethod === 'string';
}

export function toAppRequest(event: HttpEvent): AppRequest {
  const headers: Record<string, string | undefined> = {};
  // Header names arrive as the client sent them (REST) or lower-cased (2.0): the app reads lower-case.
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  if ('rawPath' in event) {
    const query = event.rawQueryString ? `?${event.rawQueryString}` : '';
    return { method: event.requestContext.http.method, url: edgeSigned(withoutStage(event.rawPath, event.requestContext.stage), headers) + query, headers };
  }
  // The decoded path is encoded again so that a key with a space, `%` or unicode builds the same derivative key
  // as the raw path over HTTP; the query string plays no part in a key, so it is not rebuilt.
  return { method: event.httpMethod, url: edgeSigned(encodeKey(event.path), headers), headers };
}

/**
 * Behind CloudFront the viewer-request function forwards the canonical path without the viewer's signature (it is
 * the bucket's key) and signs that path in a header: it becomes the path's first segment, so the gate checks it as
 * any signed URL, with the same keys. A path that carries its own signature keeps it.
 */
function edgeSigned(path: string, headers: Record<string, string | undefined>): string {
  const signature = headers[EDGE_SIGNATURE_HEADER];
  return signature && !looksSigned(path.slice(1)) ? `/${signature}${path}` : path;
}

/** An HTTP API on a named stage puts the stage in front of rawPath; `$default` (and Function URLs) do not. */
function withoutStage(rawPath: string, stage: string | undefined): string {
  if (!stage || stage === '$default') return rawPath;
  const prefix = `/${encodeURIComponent(stage)}`;
  return rawPath === prefix ? '/' : rawPath.startsWith(`${prefix}/`) ? rawPath.slice(prefix.length) : rawPath;
}

/** Buffered response: bytes as base64, text as is. */
export function toResult(out: AppResponse): HttpResult {
  const result: HttpResult = { statusCode: out.status, headers: { ...out.headers }, body: '', isBase64Encoded: false };
  if (Buffer.isBuffer(out.body)) {
    result.body = out.body.toString('base64');
    result.isBase64Encoded = true;
  } else if (out.body !== undefined) {
    result.body = out.body;
  }
  return result;
}

/**
 * Lambda refuses a buffered response over 6 MB (6,291,456 bytes of JSON, the envelope included). The margin
 * covers the envelope: status, headers and JSON punctuation, a few hundred bytes in practice.
 */
export const LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024;
const ENVELOPE_MARGIN = 16 * 1024;

export function fitsLambdaResponse(out: AppResponse): boolean {
  if (!Buffer.isBuffer(out.body)) return true;
  const base64Length = Math.ceil(out.body.length / 3) * 4;
  return base64Length + ENVELOPE_MARGIN <= LAMBDA_RESPONSE_LIMIT;
}
