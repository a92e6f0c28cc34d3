import { performance } from 'node:perf_hooks';
import { isNotModified } from './cache/conditional.js';
import { derivativeKey } from './cache/key.js';
import { Admission } from './admission/admission.js';
import { predictCost } from './admission/cost.js';
import { HotSet } from './cache/memory.js';
import { SingleFlight } from './cache/single-flight.js';
import { Deadline } from './derive/deadline.js';
import { aliasFromHeader, AliasMemory } from './derive/effective-size.js';
import { FailureMemory } from './derive/failure-memory.js';
import { errorToResponse, MethodNotAllowed, NotFound } from './errors/index.js';
import { negotiateFormat } from './ops/auto-format.js';
import type { ParseLimits, TransformSpec } from './ops/spec.js';
import { CONTENT_TYPES, sniff } from './pipeline/formats.js';
import { describeTransform, inspect, render, type Rendered } from './pipeline/index.js';
import { contentEtag as etagOf } from './cache/etag.js';
import type { PipelineLimits } from './pipeline/limits.js';
import { purgeDerivatives } from './storage/purge.js';
import { Revalidator, SOURCE_ETAG } from './storage/revalidate.js';
import type { DerivativeStore, SourceObject, SourceStore, StoredDerivative } from './storage/types.js';
import { buildSegment } from './url/segment.js';
import { RequestGate } from './url/gate.js';
import { encodeKey, RESERVED_SEGMENT } from './url/path.js';

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
  /** Signatures, presets and size rules (src/url/gate.ts); absent: every well-formed request passes. */
  gate?: RequestGate;
  /** Seconds a failed derivative key answers its error again without a transform (0: never remembered). */
  failureTtlSeconds?: number;
}

export interface AppStats {
  /** Transforms started (source decoded), for tests and metrics. */
  transforms: number;
  hits: number;
  misses: number;
}

interface Derivative extends StoredDerivative {
  /** Where it is stored: the requested key, or the size-free key it is the same image as (effective-size dedup). */
  key: string;
  cache: 'HIT' | 'MISS';
  /** In the derivative store (a failed write leaves it in this response only). */
  stored: boolean;
}

/** What a miss produces: the derivative, or the finding that it is another (size-free) key's image. */
type Produced = (StoredDerivative & { stored: boolean }) | { aliasOf: TransformSpec };

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
  const flights = new SingleFlight<Produced>();
  const aliases = new AliasMemory();
  const failures = new FailureMemory(opts.failureTtlSeconds ?? 0);
  const timeoutMs = opts.limits.timeoutSeconds * 1000;
  const revalidator = new Revalidator(opts.sources, opts.revalidateSeconds ?? 0, opts.logger);
  const hot = new HotSet(opts.memoryCacheBytes, opts.memoryCacheTtlSeconds);
  const stats: AppStats = { transforms: 0, hits: 0, misses: 0 };
  const parseLimits: ParseLimits = { maxOutputWidth: opts.limits.maxOutputWidth, maxOutputHeight: opts.limits.maxOutputHeight };
  const gate = opts.gate ?? new RequestGate(parseLimits);
  // A Map: the route name is user input, and `/_/constructor` must not find Object.prototype's members.
  const routes = new Map<string, (req: AppRequest) => Promise<AppResponse>>([['healthz', healthz], ...Object.entries(opts.serviceRoutes ?? {})]);

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

  async function produce(key: string, sourceKey: string, spec: TransformSpec, signal: AbortSignal): Promise<Produced> {
    // The deadline covers decode, pipeline and encode; sharp's own timeout misses the AVIF encoder.
    const deadline = new Deadline<{ alias: TransformSpec } | { source: SourceObject; image: Rendered }>({ timeoutMs, holdAfterTimeoutMs: timeoutMs });
    const rendered = await deadline.answer(admission.run({
      signal,
      read: async () => {
        const source = await opts.sources.get(sourceKey, { maxBytes: opts.limits.maxSourceBytes, signal });
        const header = await inspect(source.body, opts.limits);
        // A box the source already fits in: the size-free key's image, no transform (effective-size dedup).
        return { source, header, alias: aliasFromHeader(spec, header) };
      },
      price: ({ source, header, alias }) => (alias
        ? { memoryBytes: 0, cpuMs: 0, sourceBytes: 0 }
        : { ...predictCost(describeTransform(header, spec, opts.limits)), sourceBytes: source.body.length }),
      work: ({ source, header, alias }) => {
        if (alias) return Promise.resolve({ alias });
        stats.transforms++;
        return deadline.hold(render(source.body, spec, opts.limits, header).then((image) => ({ source, image })));
      },
    }));
    if ('alias' in rendered) return { aliasOf: rendered.alias };
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
    const alias = aliases.get(key);
    if (alias) return derive(alias.key, sourceKey, alias.spec, signal);
    const found = await lookup(key);
    if (found && !(await revalidator.isOutdated(key, sourceKey, found))) {
      stats.hits++;
      return { ...found, key, cache: 'HIT', stored: true };
    }
    stats.misses++;
    failures.check(key);
    const { value } = await flights.run(key, (shared) => produce(key, sourceKey, spec, shared).catch((err: unknown) => { throw failures.remember(key, err); }), signal);
    if ('aliasOf' in value) {
      // The box does not constrain this source: the image is the size-free one, stored once under its key.
      const target = { key: derivativeKey(buildSegment(value.aliasOf), sourceKey), spec: value.aliasOf };
      aliases.set(key, target);
      return derive(target.key, sourceKey, target.spec, signal);
    }
    return { ...value, key, cache: 'MISS' };
  }

  async function handleImage(req: AppRequest, path: string, started: number): Promise<AppResponse> {
    // Signature, presets and size rules are checked here, before any I/O.
    const { spec: requested, sourceKey } = gate.parse(path);
    // `auto` becomes the concrete format before the key is built: one derivative per format chosen.
    const { spec, varyAccept } = negotiateFormat(requested, req.headers.accept);
    const vary: Record<string, string> = varyAccept ? { Vary: 'Accept' } : {};
    const key = derivativeKey(buildSegment(spec), sourceKey);
    const d = await derive(key, sourceKey, spec, req.signal);
    if (opts.delivery === 'redirect' && d.stored) {
      // The redirect itself stays uncached: a purge must be able to take the target away.
      return { status: 302, headers: { Location: `${opts.publicBase ?? ''}/${encodeKey(d.key)}`, 'Cache-Control': 'no-cache', 'X-Cache': d.cache, 'Content-Length': '0', ...vary } };
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
        const route = routes.get(path.slice(3));
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
    aliases.clear();
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


