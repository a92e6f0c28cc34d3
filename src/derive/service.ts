import { Admission, type AdmissionOptions } from '../admission/admission.js';
import { predictCost } from '../admission/cost.js';
import type { CanonicalSpec } from '../ops/spec.js';
import { describeTransform, inspect, render } from '../pipeline/index.js';
import type { PipelineLimits } from '../pipeline/limits.js';
import { canAutoQuality } from '../quality/auto.js';
import { contentEtag } from '../storage/content-hash.js';
import type { DerivativeStore, SourceStore, StoredDerivative } from '../storage/types.js';
import { HotSet } from './hot-set.js';
import { asServed, creationTime, derivativeMetadata, isProvisional } from './metadata.js';
import { Optimiser, type OptimiseOptions, type OptimiseStats } from './optimise.js';
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
  /** Background re-encode at auto quality (absent: off, every miss final at the default quality). */
  optimise?: OptimiseOptions;
  logger: Logger;
}

export interface Derivative extends StoredDerivative {
  cache: 'HIT' | 'MISS';
  /** In the derivative store (a failed write leaves it in this response only). */
  stored: boolean;
  /** The provisional Cache-Control while a re-encode is pending, the full one once final. */
  cacheControl: string;
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
  /** The background re-encode, when on. */
  readonly optimiser: Optimiser | null;
}

export type { OptimiseOptions, OptimiseStats };

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
  const optimiser = derivatives && opts.optimise?.mode === 'idle'
    ? new Optimiser({ store: derivatives, sources, admission, limits, logger, options: opts.optimise, cacheControl: opts.cacheControl, finished: (key, d) => hot.set(key, asServed(d)) })
    : null;
  // Work a previous process left pending; a listing that fails leaves it for the hits that find it.
  optimiser?.resume().catch((err: unknown) => logger.warn({ err }, 'could not list pending re-encodes'));
  // Pending work nobody will do here (optimise off) is not held to the short Cache-Control.
  const cacheControlOf = (d: StoredDerivative) => (optimiser && opts.optimise && isProvisional(d) ? opts.optimise.provisionalCacheControl : opts.cacheControl);

  async function lookup(key: string): Promise<StoredDerivative | null> {
    const inMemory = hot.get(key);
    if (inMemory) return inMemory;
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
    const served = asServed(stored);
    hot.set(key, served);
    return served;
  }

  async function make(spec: CanonicalSpec, sourceKey: string, key: string, signal: AbortSignal): Promise<Derivative> {
    const { source, image } = await admission.run({
      signal,
      read: async () => {
        const read = await sources.get(sourceKey, { maxBytes: limits.maxSourceBytes, signal });
        return { source: read, header: await inspect(read.body, limits) };
      },
      price: ({ source: read, header }) => ({ ...predictCost(describeTransform(header, spec, limits)), sourceBytes: read.body.length }),
      work: async ({ source: read, header }) => {
        stats.transforms++;
        return { source: read, image: await render(read.body, spec, limits, header) };
      },
    });
    const created = creationTime();
    const provisional = optimiser !== null && canAutoQuality(spec, image);
    const metadata = derivativeMetadata(source.etag, created, provisional);
    const made: StoredDerivative = { body: image.body, etag: contentEtag(image.body), lastModified: created, contentType: image.contentType, metadata };
    const stored = await store(key, made, provisional ? () => optimiser?.record(key, { sourceKey, spec }) : undefined);
    if (stored && provisional) optimiser?.enqueue(key, { sourceKey, spec });
    if (stored || !opts.needsStored) hot.set(key, made);
    return { ...made, cache: 'MISS', stored, cacheControl: cacheControlOf(made) };
  }

  /**
   * `record` notes the pending re-encode beside the write, not before it, to keep the miss fast: a marker that
   * failed (logged) leaves the work to the hits that find the provisional derivative.
   */
  async function store(key: string, d: StoredDerivative, record?: () => Promise<void> | undefined): Promise<boolean> {
    if (!derivatives) return false;
    try {
      const noted = Promise.resolve(record?.()).catch((err: unknown) => logger.warn({ err, key }, 'pending re-encode not recorded'));
      await derivatives.put(key, d.body, { contentType: d.contentType, cacheControl: cacheControlOf(d), metadata: d.metadata, servable: !isProvisional(d) });
      await noted;
      return true;
    } catch (err) {
      // The client still gets its image; the next request will try to store it again.
      logger.error({ err, key }, 'derivative write failed');
      return false;
    }
  }

  return {
    stats,
    admission,
    optimiser,
    async get(spec, sourceKey, key, signal) {
      const found = await lookup(key);
      if (found && !(await revalidator.isOutdated(key, sourceKey, found))) {
        stats.hits++;
        // Pending work this process does not know of yet (a marker lost, a store that cannot list).
        if (isProvisional(found)) optimiser?.enqueue(key, { sourceKey, spec });
        return { ...found, cache: 'HIT', stored: true, cacheControl: cacheControlOf(found) };
      }
      stats.misses++;
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
