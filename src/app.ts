import { performance } from 'node:perf_hooks';
import type { Admission } from './admission/admission.js';
import type { Optimiser } from './derive/optimise.js';
import { createDerivativeService, type DerivativeServiceOptions, type DeriveStats } from './derive/service.js';
import { MethodNotAllowed, NotFound } from './errors/index.js';
import { createRefusalPolicy } from './http/refusals.js';
import { errorResponse, imageResponse, redirectResponse, textResponse, type AppRequest, type AppResponse } from './http/headers.js';
import { redactUrl } from './observe/access-log.js';
import { finishRecord, startRecord, type RequestRecord } from './observe/record.js';
import type { ParseLimits } from './ops/spec.js';
import { RESERVED_SEGMENT } from './url/path.js';
import { RequestGate } from './url/gate.js';
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
   * (measured: admitted throughput fell to under half at 32 clients on 2 cores). Default 25 ms.
   */
  refusalHoldMs?: number;
  /** Signatures, presets and size rules (src/url/gate.ts); absent: every well-formed request passes. */
  gate?: RequestGate;
  /** Told about every request once it is answered (the access log, metrics). */
  onRequest?: (r: RequestRecord) => void;
}

export interface App {
  handle(req: AppRequest): Promise<AppResponse>;
  readonly stats: DeriveStats;
  readonly admission: Admission;
  /** The background re-encode of provisional derivatives (null when off or without a store). */
  readonly optimiser: Optimiser | null;
  /** Deletes every derivative of a source (store and this process's hot set); returns the keys deleted. */
  purge(sourceKey: string): Promise<string[]>;
}

export const DEFAULT_REFUSAL_HOLD_MS = 25;

const healthz: ServiceRoute = async () => textResponse(200, 'ok\n');

/** The request handler: routes, asks the derivative service, and is the one place that speaks HTTP semantics. */
export function createApp(opts: AppOptions): App {
  const redirect = opts.delivery === 'redirect';
  const refusals = createRefusalPolicy(opts.refusalHoldMs ?? DEFAULT_REFUSAL_HOLD_MS, opts.logger);
  const service = createDerivativeService({ ...opts, revalidateSeconds: opts.revalidateSeconds ?? 0, needsStored: redirect });
  const parseLimits: ParseLimits = { maxOutputWidth: opts.limits.maxOutputWidth, maxOutputHeight: opts.limits.maxOutputHeight };
  const gate = opts.gate ?? new RequestGate(parseLimits);
  // A Map: a route name comes from the URL, and must never reach Object.prototype.
  const routes = new Map<string, ServiceRoute>([['healthz', healthz], ...Object.entries(opts.serviceRoutes ?? {})]);

  async function image(req: AppRequest, path: string, started: number, rec: RequestRecord): Promise<AppResponse> {
    // Signature, presets and size rules are checked in the gate, before any I/O.
    const { spec, sourceKey, key, varyAccept } = parseImagePath(path, gate, req.headers.accept);
    const d = await service.get(spec, sourceKey, key, req.signal);
    rec.queuedMs = d.queuedMs;
    // d.key, not key: a box the source fits in is stored under the size-free key (effective-size dedup).
    if (redirect && d.stored) return redirectResponse(opts.publicBase ?? '', d.key, d, varyAccept);
    return imageResponse(req, d, { cacheControl: d.cacheControl, varyAccept, started });
  }

  /** Answers, then records it (access log, metrics) and returns its id in X-Request-Id. */
  async function handle(req: AppRequest): Promise<AppResponse> {
    const started = performance.now();
    const rec = startRecord(req);
    const res = finishRecord(rec, await answer(req, started, rec), started);
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
      // The access log carries every error's cause; refusals are logged summarised instead (src/http/refusals.ts).
      rec.err = err;
      return res.status === 503 ? refusals.answer(res, err, redactUrl(req.url)) : res;
    }
  }

  return { handle, stats: service.stats, admission: service.admission, optimiser: service.optimiser, purge: (sourceKey) => service.purge(sourceKey) };
}
