import type { Context } from 'aws-lambda';
import type { LambdaApps } from './apps.js';
import type { AppRequest, AppResponse } from '../app.js';
import { EDGE_SIGNATURE_HEADER } from '../url/signature.js';
import { fitsLambdaResponse, isHttpEvent, toAppRequest, toResult, type HttpEvent, type HttpResult } from './events.js';

/**
 * The Lambda adapter, as thin as src/server/http.ts: event -> AppRequest -> app.handle() -> Lambda result.
 * One handler for Function URLs, HTTP APIs (payload 2.0) and REST APIs (1.0), in buffered mode.
 */
export function createHandler(apps: LambdaApps): (event: HttpEvent, context?: Context) => Promise<HttpResult> {
  return async (event) => {
    if (!isHttpEvent(event)) throw new Error('Not an HTTP event (Function URL, HTTP API or REST API)');
    const request = toAppRequest(event);
    const out = await apps.app.handle(request);
    if (fitsLambdaResponse(out)) return toResult(out);
    // Too big for a Lambda response: the first app has stored it, so point the client at the stored copy.
    const redirect = await apps.oversized.handle(request);
    if (redirect.status === 302) return toResult(signedRedirect(redirect, request));
    apps.logger.error({ url: request.url, bytes: (out.body as Buffer).length }, 'oversized response could not be stored to redirect to');
    return toResult({
      status: 503,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Retry-After': '1' },
      body: 'Image too large for a direct response and could not be stored; try again\n',
    });
  };
}

/**
 * With signing on, an unsigned redirect would be refused at the edge: a request the edge vouched for is sent to
 * its own path with the edge's signature (same expiry as the viewer's), relative, so it comes back through the
 * same distribution and is served from the bucket.
 */
function signedRedirect(redirect: AppResponse, request: AppRequest): AppResponse {
  if (!request.headers[EDGE_SIGNATURE_HEADER]) return redirect;
  return { ...redirect, headers: { ...redirect.headers, Location: request.url.split('?', 1)[0]! } };
}
