import { internalMessage } from '../errors/index.js';
import type { RequestRecord } from './record.js';

export interface AccessLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A signed URL's first segment (`/s-<signature>/…`) is a credential: whoever holds it can make that derivative.
 * It is replaced before anything is logged; the query string is dropped (never part of a key, may carry tokens).
 */
export function redactUrl(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.replace(/^\/s-[^/]*/, '/s-[redacted]');
}

/** The same redaction inside an error's internal story, which may quote the path it failed on. */
function redactText(text: string, url: string): string {
  const signed = /^\/(s-[^/?]+)/.exec(url)?.[1];
  const noQuery = url.includes('?') ? text.split(url.slice(url.indexOf('?'))).join('') : text;
  return signed ? noQuery.split(signed).join('s-[redacted]') : noQuery;
}

/**
 * One JSON line per request (pino). Hits can be sampled (`hitPercent`), since at thousands per second they are most
 * of the log and the least interesting; misses, errors and service endpoints are always logged. Errors carry their
 * internal cause; server faults log at error. 503s are the exception: under a storm a line each would cost more
 * than the refusal, so src/http/refusals.ts logs them summarised, and the metrics count every one.
 */
export function accessLog(logger: AccessLogger, hitPercent = 100): (r: RequestRecord) => void {
  return (r) => {
    if (r.status === 503) return;
    const hit = r.cache === 'HIT' && r.status < 400;
    if (hit && hitPercent < 100 && Math.random() * 100 >= hitPercent) return;
    const line: Record<string, unknown> = {
      reqId: r.id,
      method: r.method,
      path: redactUrl(r.url),
      status: r.status,
      ms: Math.round(r.durationMs * 10) / 10,
      cache: r.cache,
      bytes: r.bytes,
      queuedMs: r.queuedMs === undefined ? undefined : Math.round(r.queuedMs),
    };
    if (r.err !== undefined && r.status >= 400) line.internal = redactText(internalMessage(r.err), r.url);
    if (r.status >= 500) logger.error(line, 'request failed');
    else logger.info(line, 'request');
  };
}
