import { randomUUID } from 'node:crypto';

/** What is known about one request once it is answered: the access log's line and the request metrics. */
export interface RequestRecord {
  id: string;
  method: string;
  /** The raw request path and query, as received (redacted before logging). */
  url: string;
  status: number;
  durationMs: number;
  /** HIT or MISS for images; absent for errors and service endpoints. */
  cache?: string;
  /** Response body bytes. */
  bytes: number;
  /** Milliseconds the transform waited in admission (misses only). */
  queuedMs?: number;
  /** The error behind an error status, for its internal cause. */
  err?: unknown;
}

/** An incoming X-Request-Id is kept when it is a plausible id (no spaces or control characters, ≤ 128). */
const ACCEPTED_ID = /^[\w.:@+/=-]{1,128}$/;

/** A request's record as it arrives, its id from X-Request-Id or new. */
export function startRecord(req: { method: string; url: string; headers: Record<string, string | undefined> }): RequestRecord {
  return { id: requestId(req.headers['x-request-id']), method: req.method, url: req.url, status: 0, durationMs: 0, bytes: 0 };
}

/** Completes the record from the response, and returns the response with the request's id in X-Request-Id. */
export function finishRecord<R extends { status: number; headers: Record<string, string>; body?: Buffer | string }>(rec: RequestRecord, res: R, started: number): R {
  res.headers['X-Request-Id'] = rec.id;
  rec.status = res.status;
  rec.durationMs = performance.now() - started;
  rec.cache = res.headers['X-Cache'];
  rec.bytes = res.body === undefined ? 0 : Buffer.byteLength(res.body);
  return res;
}

export function requestId(incoming: string | undefined): string {
  return incoming !== undefined && ACCEPTED_ID.test(incoming) ? incoming : randomUUID();
}

/** Bounded label values: 2xx..5xx. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
