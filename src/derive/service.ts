import { Admission, type AdmissionOptions } from '../admission/admission.js';
import { predictCost } from '../admission/cost.js';
import { ResizerError } from '../errors/index.js';
import type { CanonicalSpec } from '../ops/spec.js';
import { describeTransform, inspect, render } from '../pipeline/index.js';
import type { PipelineLimits } from '../pipeline/limits.js';
import { contentEtag } from '../storage/content-hash.js';
import type { DerivativeStore, SourceStore, StoredDerivative } from '../storage/types.js';
import { HotSet } from './hot-set.js';
import { asServed, creationTime, derivativeMetadata } from './metadata.js';
import { purgeDerivatives } from './purge.js';
import { Revalidator } from './revalidate.js';
import { SingleFlight } from './single-flight.js';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DerivativeServiceOptions {
  sources: SourceStore;
  /** null: derivatives are not stored (cache "none"); every miss transforms. */
  derivatives: DerivativeStore | null;
  limits: PipelineLimits & { maxSourceBytes: number };
  admission: AdmissionOptions;
  /** Cache-Control stored with each derivative (S3 serves it to whoever reads the bucket directly). */
  cacheControl: string;
  memoryCacheBytes: number;
  memoryCacheTtlSeconds: number;
  /** A derivative older than this is checked against its source's ETag and made again if it changed (0: never). */
  revalidateSeconds: number;
  /**
   * True when the caller can only use a stored derivative (redirect delivery): one whose write failed is then
   * not kept in the hot set, so the next request tries to store it again.
   */
  needsStored: boolean;
  logger: Logger;
  /** Told what each request found and how long the slow steps took (metrics); optional, never throws back. */
  observer?: DeriveObserver;
}

/** Hooks for metrics, so that derive/ stays free of any metrics library. Durations in seconds. */
export interface DeriveObserver {
  /** Where a lookup found the derivative: the in-memory hot set, the store, or nowhere (a transform follows). */
  lookup?(found: 'memory' | 'store' | 'miss'): void;
  /** `rejected`: the store answered, but no (a missing or too large source); `error`: the store failed. */
  sourceRead?(seconds: number, outcome: 'ok' | 'rejected' | 'error'): void;
  /** One transform, by its output's content type. */
  transform?(contentType: string, seconds: number): void;
  storeWrite?(seconds: number, ok: boolean): void;
}

export interface Derivative extends StoredDerivative {
  cache: 'HIT' | 'MISS';
  /** In the derivative store (a failed write leaves it in this response only). */
  stored: boolean;
  /** Milliseconds the transform waited in admission (reading the source included); misses only. */
  queuedMs?: number;
}

export interface DeriveStats {
  /** Transforms started (source decoded), for tests and metrics. */
  transforms: number;
  hits: number;
  misses: number;
}

export interface DerivativeService {
  /** The derivative of a source for a spec: from the hot set, the store, or made now. */
  get(spec: CanonicalSpec, sourceKey: string, key: string, signal?: AbortSignal): Promise<Derivative>;
  /**
   * Deletes every derivative of a source from the store and from this process's hot set; other processes'
   * hot sets let it go after memoryCacheTtlSeconds. Returns the derivative keys deleted.
   */
  purge(sourceKey: string): Promise<string[]>;
  readonly stats: DeriveStats;
  readonly admission: Admission;
}

/**
 * The read-through derivative cache, transport-free: hot set, then store, then a transform admitted by cost and
 * shared by every concurrent request for the same key. Owns the store's metadata format and the policy for a
 * store that fails: a failed read is a miss, a failed write still returns the image.
 */
export function createDerivativeService(opts: DerivativeServiceOptions): DerivativeService {
  const admission = new Admission(opts.admission);
  const flights = new SingleFlight<Derivative>();
  const revalidator = new Revalidator(opts.sources, opts.revalidateSeconds, opts.logger);
  const hot = new HotSet(opts.memoryCacheBytes, opts.memoryCacheTtlSeconds);
  const stats: DeriveStats = { transforms: 0, hits: 0, misses: 0 };
  const { sources, derivatives, limits, logger } = opts;
  const observer: DeriveObserver = opts.observer ?? {};
  const since = (t: number) => (performance.now() - t) / 1000;

  async function lookup(key: string): Promise<StoredDerivative | null> {
    const inMemory = hot.get(key);
    if (inMemory) {
      observer.lookup?.('memory');
      return inMemory;
    }
    if (!derivatives) return null;
    let stored: StoredDerivative | null;
    try {
      stored = await derivatives.get(key);
    } catch (err) {
      // An unreadable cache must not take the service down with it: make the image again and say so in the log.
      logger.error({ err, key }, 'derivative read failed; treated as a miss');
      return null;
    }
    if (!stored) return null;
    observer.lookup?.('store');
    const served = asServed(stored);
    hot.set(key, served);
    return served;
  }

  async function make(spec: CanonicalSpec, sourceKey: string, key: string, signal: AbortSignal): Promise<Derivative> {
    const asked = performance.now();
    let queuedMs = 0;
    const { source, image } = await admission.run({
      signal,
      read: async () => {
        const t = performance.now();
        const read = await sources.get(sourceKey, { maxBytes: limits.maxSourceBytes, signal }).catch((err: unknown) => {
          observer.sourceRead?.(since(t), err instanceof ResizerError && err.status < 500 ? 'rejected' : 'error');
          throw err;
        });
        observer.sourceRead?.(since(t), 'ok');
        return { source: read, header: await inspect(read.body, limits) };
      },
      price: ({ source: read, header }) => ({ ...predictCost(describeTransform(header, spec, limits)), sourceBytes: read.body.length }),
      work: async ({ source: read, header }) => {
        stats.transforms++;
        const t = performance.now();
        queuedMs = t - asked;
        const image = await render(read.body, spec, limits, header);
        observer.transform?.(image.contentType, since(t));
        return { source: read, image };
      },
    });
    const created = creationTime();
    const metadata = derivativeMetadata(source.etag, created);
    const made: StoredDerivative = { body: image.body, etag: contentEtag(image.body), lastModified: created, contentType: image.contentType, metadata };
    const stored = await store(key, made);
    if (stored || !opts.needsStored) hot.set(key, made);
    return { ...made, cache: 'MISS', stored, queuedMs };
  }

  async function store(key: string, d: StoredDerivative): Promise<boolean> {
    if (!derivatives) return false;
    const t = performance.now();
    try {
      await derivatives.put(key, d.body, { contentType: d.contentType, cacheControl: opts.cacheControl, metadata: d.metadata });
      observer.storeWrite?.(since(t), true);
      return true;
    } catch (err) {
      observer.storeWrite?.(since(t), false);
      // The client still gets its image; the next request will try to store it again.
      logger.error({ err, key }, 'derivative write failed');
      return false;
    }
  }

  return {
    stats,
    admission,
    async get(spec, sourceKey, key, signal) {
      const found = await lookup(key);
      if (found && !(await revalidator.isOutdated(key, sourceKey, found))) {
        stats.hits++;
        return { ...found, cache: 'HIT', stored: true };
      }
      stats.misses++;
      observer.lookup?.('miss');
      const { value } = await flights.run(key, (shared) => make(spec, sourceKey, key, shared), signal);
      return value;
    },
    async purge(sourceKey) {
      const keys = derivatives ? await purgeDerivatives(derivatives, sourceKey) : [];
      for (const k of keys) hot.delete(k);
      return keys;
    },
  };
}
