import { performance } from 'node:perf_hooks';
import type { Derivative } from '../derive/service.js';
import { errorToResponse } from '../errors/index.js';
import { encodeKey } from '../url/path.js';
import { isNotModified } from './conditional.js';

/** Transport-neutral request: header names lower-case, url is the raw path plus query. */
export interface AppRequest {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  /** Aborted when the client goes away: a request still queued then leaves without running. */
  signal?: AbortSignal;
}

export interface AppResponse {
  status: number;
  headers: Record<string, string>;
  /** Omitted for HEAD and 304; adapters send it as is. */
  body?: Buffer | string;
}

export interface ImageResponseOptions {
  cacheControl: string;
  varyAccept: boolean;
  /** performance.now() when the request arrived, for Server-Timing. */
  started: number;
}

/** An image, or a 304 when the client's copy is current (ETag first, then Last-Modified). */
export function imageResponse(req: AppRequest, d: Derivative, o: ImageResponseOptions): AppResponse {
  const headers: Record<string, string> = {
    'Content-Type': d.contentType,
    ETag: d.etag,
    'Last-Modified': d.lastModified.toUTCString(),
    'Cache-Control': o.cacheControl,
    'X-Content-Type-Options': 'nosniff',
    'X-Cache': d.cache,
    'Server-Timing': `cache;desc=${d.cache}, total;dur=${(performance.now() - o.started).toFixed(1)}`,
    ...(o.varyAccept ? { Vary: 'Accept' } : {}),
  };
  if (isNotModified({ ifNoneMatch: req.headers['if-none-match'], ifModifiedSince: req.headers['if-modified-since'] }, d)) {
    return { status: 304, headers };
  }
  headers['Content-Length'] = String(d.body.length);
  return { status: 200, headers, body: req.method === 'HEAD' ? undefined : d.body };
}

/** A redirect to the stored derivative; itself uncached, so that a purge can take the target away. */
export function redirectResponse(publicBase: string, key: string, d: Derivative, varyAccept: boolean): AppResponse {
  return {
    status: 302,
    headers: { Location: `${publicBase}/${encodeKey(key)}`, 'Cache-Control': 'no-cache', 'X-Cache': d.cache, 'Content-Length': '0', ...(varyAccept ? { Vary: 'Accept' } : {}) },
  };
}

export function errorResponse(req: AppRequest, err: unknown): AppResponse {
  const e = errorToResponse(err);
  return { status: e.status, headers: { ...e.headers, 'Content-Length': String(Buffer.byteLength(e.body)) }, body: req.method === 'HEAD' ? undefined : e.body };
}

export function textResponse(status: number, body: string): AppResponse {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': String(Buffer.byteLength(body)) }, body };
}
