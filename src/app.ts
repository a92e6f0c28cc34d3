import { performance } from 'node:perf_hooks';
import type { Admission } from './admission/admission.js';
import { createDerivativeService, type DerivativeServiceOptions, type DeriveStats } from './derive/service.js';
import { MethodNotAllowed, NotFound } from './errors/index.js';
import { errorResponse, imageResponse, redirectResponse, textResponse, type AppRequest, type AppResponse } from './http/headers.js';
import { accessLog } from './observe/access-log.js';
import { requestId, type RequestRecord } from './observe/record.js';
import type { ParseLimits } from './ops/spec.js';
import { RESERVED_SEGMENT } from './url/path.js';
import { parseImagePath } from './url/request.js';

export type { AppRequest, AppResponse } from './http/headers.js';
export type { Logger } from './derive/service.js';

export type ServiceRoute = (req: AppRequest) => Promise<AppResponse>;

/** The derivative service's options, plus what only the HTTP side decides. */
export interface AppOptions extends Omit<DerivativeServiceOptions, 'needsStored' | 'revalidateSeconds'> {
  /** 'stream' (default) sends the bytes; 'redirect' answers 302 to `{publicBase}/{derivative key}` once it is stored. */
  delivery?: 'stream' | 'redirect';
  publicBase?: string;
  /** A derivative older than this is checked against its source's ETag and made again if it changed (0: never). */
  revalidateSeconds?: number;
  /** Service endpoints under `/_/`, by name (`healthz` → `/_/healthz`). */
  serviceRoutes?: Record<string, ServiceRoute>;
  /**
   * A 503 is held this long before it is answered. Refusing is cheap but not free: a client that retries at once
   * in a tight loop would otherwise turn refusals into a busy loop that takes CPU from the admitted transforms
   * (measured: admitted throughput fell to under half at 32 clients on 2 cores). Default 50 ms.
   */
  refusalHoldMs?: number;
  /** The access log: one line per request, hits sampled to this percentage; false for none (warm-up). */
  accessLog?: { hitPercent: number } | false;
  /** Told about every request once it is answered (metrics). */
  onRequest?: (r: RequestRecord) => void;
}

export interface App {
  handle(req: AppRequest): Promise<AppResponse>;
  readonly stats: DeriveStats;
  readonly admission: Admission;
  /** Deletes every derivative of a source (store and this process's hot set); returns the keys deleted. */
  purge(sourceKey: string): Promise<string[]>;
}

export const DEFAULT_REFUSAL_HOLD_MS = 50;

const healthz: ServiceRoute = async () => textResponse(200, 'ok\n');

/** The request handler: routes, asks the derivative service, and is the one place that speaks HTTP semantics. */
export function createApp(opts: AppOptions): App {
  const redirect = opts.delivery === 'redirect';
  const hold = opts.refusalHoldMs ?? DEFAULT_REFUSAL_HOLD_MS;
  const service = createDerivativeService({ ...opts, revalidateSeconds: opts.revalidateSeconds ?? 0, needsStored: redirect });
  const parseLimits: ParseLimits = { maxOutputWidth: opts.limits.maxOutputWidth, maxOutputHeight: opts.limits.maxOutputHeight };
  // A Map: a route name comes from the URL, and must never reach Object.prototype.
  const routes = new Map<string, ServiceRoute>([['healthz', healthz], ...Object.entries(opts.serviceRoutes ?? {})]);

  const log = opts.accessLog === false ? undefined : accessLog(opts.logger, opts.accessLog?.hitPercent);
  async function image(req: AppRequest, path: string, started: number, rec: RequestRecord): Promise<AppResponse> {
    const { spec, sourceKey, key, varyAccept } = parseImagePath(path, parseLimits, req.headers.accept);
    const d = await service.get(spec, sourceKey, key, req.signal);
    rec.queuedMs = d.queuedMs;
    if (redirect && d.stored) return redirectResponse(opts.publicBase ?? '', key, d, varyAccept);
    return imageResponse(req, d, { cacheControl: opts.cacheControl, varyAccept, started });
  }

  /** Answers, then records it (access log, metrics) and returns its id in X-Request-Id. */
  async function handle(req: AppRequest): Promise<AppResponse> {
    const started = performance.now();
    const rec: RequestRecord = { id: requestId(req.headers['x-request-id']), method: req.method, url: req.url, status: 0, durationMs: 0, bytes: 0 };
    const res = await answer(req, started, rec);
    res.headers['X-Request-Id'] = rec.id;
    Object.assign(rec, { status: res.status, durationMs: performance.now() - started, cache: res.headers['X-Cache'], bytes: res.body === undefined ? 0 : Buffer.byteLength(res.body) });
    log?.(rec);
    opts.onRequest?.(rec);
    return res;
  }

  async function answer(req: AppRequest, started: number, rec: RequestRecord): Promise<AppResponse> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowed('GET, HEAD');
      const path = req.url.split('?', 1)[0] ?? '/';
      if (path === `/${RESERVED_SEGMENT}` || path.startsWith(`/${RESERVED_SEGMENT}/`)) {
        const route = routes.get(path.slice(RESERVED_SEGMENT.length + 2));
        if (!route) throw new NotFound('No such service endpoint');
        return await route(req);
      }
      return await image(req, path, started, rec);
    } catch (err) {
      const res = errorResponse(req, err);
      // The access log carries the cause of every error (src/observe/access-log.ts).
      rec.err = err;
      if (res.status !== 503) return res;
      return hold > 0 ? new Promise((resolve) => setTimeout(resolve, hold, res)) : res;
    }
  }

  return { handle, stats: service.stats, admission: service.admission, purge: (sourceKey) => service.purge(sourceKey) };
}
