import { performance } from 'node:perf_hooks';
import { isNotModified } from './cache/conditional.js';
import { derivativeKey } from './cache/key.js';
import { Admission } from './admission/admission.js';
import { predictCost } from './admission/cost.js';
import { HotSet } from './cache/memory.js';
import { SingleFlight } from './cache/single-flight.js';
import { errorToResponse, MethodNotAllowed, NotFound } from './errors/index.js';
import { negotiateFormat } from './ops/auto-format.js';
import type { ParseLimits, TransformSpec } from './ops/spec.js';
import { CONTENT_TYPES, sniff } from './pipeline/formats.js';
import { describeTransform, inspect, render } from './pipeline/index.js';
import { contentEtag as etagOf } from './cache/etag.js';
import type { PipelineLimits } from './pipeline/limits.js';
import { purgeDerivatives } from './storage/purge.js';
import { Revalidator, SOURCE_ETAG } from './storage/revalidate.js';
import type { DerivativeStore, SourceStore, StoredDerivative } from './storage/types.js';
import { buildSegment, parseSegment } from './url/segment.js';
import { encodeKey, RESERVED_SEGMENT, splitPath } from './url/path.js';

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

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface AppOptions {
  sources: SourceStore;
  /** null: derivatives are not stored (cache "none"); every miss transforms. */
  derivatives: DerivativeStore | null;
  limits: PipelineLimits & { maxSourceBytes: number };
  cacheControl: string;
  concurrency: number;
  queueSize: number;
  queueTimeoutMs: number;
  memoryBudgetBytes: number;
  readConcurrency: number;
  memoryCacheBytes: number;
  memoryCacheTtlSeconds: number;
  logger: Logger;
  /** 'stream' (default) sends the bytes; 'redirect' answers 302 to `{publicBase}/{derivative key}` once it is stored. */
  delivery?: 'stream' | 'redirect';
  publicBase?: string;
  /** A derivative older than this is checked against its source's ETag and made again if it changed (0: never). */
  revalidateSeconds?: number;
  /** Service endpoints under `/_/`, by name (`healthz` → `/_/healthz`). */
  serviceRoutes?: Record<string, (req: AppRequest) => Promise<AppResponse>>;
}

export interface AppStats {
  /** Transforms started (source decoded), for tests and metrics. */
  transforms: number;
  hits: number;
  misses: number;
}

interface Derivative extends StoredDerivative {
  cache: 'HIT' | 'MISS';
  /** In the derivative store (a failed write leaves it in this response only). */
  stored: boolean;
}

export interface App {
  handle(req: AppRequest): Promise<AppResponse>;
  readonly stats: AppStats;
  readonly admission: Admission;
  /**
   * Deletes every derivative of a source from the store and from this process's hot set; other processes'
   * hot sets let it go after memoryCacheTtlSeconds. Returns the derivative keys deleted.
   */
  purge(sourceKey: string): Promise<string[]>;
}

export function createApp(opts: AppOptions): App {
  const admission = new Admission({
    slots: opts.concurrency,
    memoryBudgetBytes: opts.memoryBudgetBytes,
    readConcurrency: opts.readConcurrency,
    queueSize: opts.queueSize,
    queueTimeoutMs: opts.queueTimeoutMs,
  });
  const flights = new SingleFlight<StoredDerivative & { stored: boolean }>();
  const revalidator = new Revalidator(opts.sources, opts.revalidateSeconds ?? 0, opts.logger);
  const hot = new HotSet(opts.memoryCacheBytes, opts.memoryCacheTtlSeconds);
  const stats: AppStats = { transforms: 0, hits: 0, misses: 0 };
  const parseLimits: ParseLimits = { maxOutputWidth: opts.limits.maxOutputWidth, maxOutputHeight: opts.limits.maxOutputHeight };
  const routes: Record<string, (req: AppRequest) => Promise<AppResponse>> = { healthz, ...opts.serviceRoutes };

  async function lookup(key: string): Promise<StoredDerivative | null> {
    const inMemory = hot.get(key);
    if (inMemory) return inMemory;
    if (!opts.derivatives) return null;
    let stored: StoredDerivative | null;
    try {
      stored = await opts.derivatives.get(key);
    } catch (err) {
      // An unreadable cache must not take the service down with it: make the image again and say so in the log.
      opts.logger.error({ err, key }, 'derivative read failed; treated as a miss');
      return null;
    }
    if (!stored) return null;
    const normalised = withCreationTime(withContentType(stored));
    hot.set(key, normalised);
    return normalised;
  }

  async function produce(key: string, sourceKey: string, spec: TransformSpec, signal: AbortSignal): Promise<StoredDerivative & { stored: boolean }> {
    const rendered = await admission.run({
      signal,
      read: async () => {
        const source = await opts.sources.get(sourceKey, { maxBytes: opts.limits.maxSourceBytes, signal });
        return { source, header: await inspect(source.body, opts.limits) };
      },
      price: ({ source, header }) => ({ ...predictCost(describeTransform(header, spec, opts.limits)), sourceBytes: source.body.length }),
      work: async ({ source, header }) => {
        stats.transforms++;
        return { source, image: await render(source.body, spec, opts.limits, header) };
      },
    });
    // Whole seconds, recorded with the object: HTTP dates have no finer grain, and a store's own clock
    // (file mtime, S3 LastModified) ticks later than the miss that answered first.
    const created = new Date(Math.floor(Date.now() / 1000) * 1000);
    const metadata = { [SOURCE_ETAG]: rendered.source.etag, created: created.toISOString() };
    const derivative: StoredDerivative = {
      body: rendered.image.body,
      etag: etagOf(rendered.image.body),
      lastModified: created,
      contentType: rendered.image.contentType,
      metadata,
    };
    let stored = false;
    if (opts.derivatives) {
      try {
        await opts.derivatives.put(key, derivative.body, { contentType: derivative.contentType, cacheControl: opts.cacheControl, metadata });
        stored = true;
      } catch (err) {
        // The client still gets its image; the next request will try to store it again.
        opts.logger.error({ err, key }, 'derivative write failed');
      }
    }
    // A redirect can only point at a stored derivative, so an unstored one must not count as a hit there.
    if (stored || opts.delivery !== 'redirect') hot.set(key, derivative);
    return { ...derivative, stored };
  }

  async function derive(key: string, sourceKey: string, spec: TransformSpec, signal?: AbortSignal): Promise<Derivative> {
    const found = await lookup(key);
    if (found && !(await revalidator.isOutdated(key, sourceKey, found))) {
      stats.hits++;
      return { ...found, cache: 'HIT', stored: true };
    }
    stats.misses++;
    const { value } = await flights.run(key, (shared) => produce(key, sourceKey, spec, shared), signal);
    return { ...value, cache: 'MISS' };
  }

  async function handleImage(req: AppRequest, path: string, started: number): Promise<AppResponse> {
    const { segment, key: sourceKey } = splitPath(path);
    // `auto` becomes the concrete format before the key is built: one derivative per format chosen.
    const { spec, varyAccept } = negotiateFormat(parseSegment(segment, parseLimits), req.headers.accept);
    const vary: Record<string, string> = varyAccept ? { Vary: 'Accept' } : {};
    const key = derivativeKey(buildSegment(spec), sourceKey);
    const d = await derive(key, sourceKey, spec, req.signal);
    if (opts.delivery === 'redirect' && d.stored) {
      // The redirect itself stays uncached: a purge must be able to take the target away.
      return { status: 302, headers: { Location: `${opts.publicBase ?? ''}/${encodeKey(key)}`, 'Cache-Control': 'no-cache', 'X-Cache': d.cache, 'Content-Length': '0', ...vary } };
    }
    const headers: Record<string, string> = {
      'Content-Type': d.contentType,
      ETag: d.etag,
      'Last-Modified': d.lastModified.toUTCString(),
      'Cache-Control': opts.cacheControl,
      'X-Content-Type-Options': 'nosniff',
      'X-Cache': d.cache,
      'Server-Timing': `cache;desc=${d.cache}, total;dur=${(performance.now() - started).toFixed(1)}`,
      ...vary,
    };
    if (isNotModified({ ifNoneMatch: req.headers['if-none-match'], ifModifiedSince: req.headers['if-modified-since'] }, d)) {
      return { status: 304, headers };
    }
    headers['Content-Length'] = String(d.body.length);
    return { status: 200, headers, body: req.method === 'HEAD' ? undefined : d.body };
  }

  async function handle(req: AppRequest): Promise<AppResponse> {
    const started = performance.now();
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new MethodNotAllowed('GET, HEAD');
      const path = req.url.split('?', 1)[0] ?? '/';
      if (path === '/_' || path.startsWith(`/${RESERVED_SEGMENT}/`)) {
        const route = routes[path.slice(3)];
        if (!route) throw new NotFound('No such service endpoint');
        return await route(req);
      }
      return await handleImage(req, path, started);
    } catch (err) {
      const e = errorToResponse(err);
      // Every 5xx is logged with its cause; overload at warn, since it is expected under bursts.
      if (e.status === 503) opts.logger.warn({ err, url: req.url }, 'request refused');
      else if (e.status >= 500) opts.logger.error({ err, url: req.url }, 'request failed');
      return { status: e.status, headers: { ...e.headers, 'Content-Length': String(Buffer.byteLength(e.body)) }, body: req.method === 'HEAD' ? undefined : e.body };
    }
  }

  async function purge(sourceKey: string): Promise<string[]> {
    const keys = opts.derivatives ? await purgeDerivatives(opts.derivatives, sourceKey) : [];
    for (const k of keys) hot.delete(k);
    return keys;
  }

  return { handle, stats, admission, purge };
}

async function healthz(): Promise<AppResponse> {
  return { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, body: 'ok\n' };
}

function withCreationTime(d: StoredDerivative): StoredDerivative {
  const created = Date.parse(d.metadata.created ?? '');
  return Number.isNaN(created) ? d : { ...d, lastModified: new Date(created) };
}

/** Files placed by hand carry no content type: trust the bytes, not the name. */
function withContentType(d: StoredDerivative): StoredDerivative {
  if (d.contentType.startsWith('image/')) return d;
  const format = sniff(d.body);
  const type = format in CONTENT_TYPES ? CONTENT_TYPES[format as keyof typeof CONTENT_TYPES] : 'application/octet-stream';
  return { ...d, contentType: type };
}


