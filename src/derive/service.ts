import { Admission, type AdmissionOptions } from '../admission/admission.js';
import { predictCost } from '../admission/cost.js';
import { ResizerError } from '../errors/index.js';
import { derivativeKey } from '../keys/index.js';
import type { CanonicalSpec } from '../ops/spec.js';
import { describeTransform, inspect, render, type Inspected, type Rendered } from '../pipeline/index.js';
import type { PipelineLimits } from '../pipeline/limits.js';
import { canHoldSource, mezzanineShape, planFromMezzanine, renderFromMezzanine, specFallback, type MezzaninePlan, type MezzanineSettings } from '../pipeline/mezzanine.js';
import { canAutoQuality } from '../quality/auto.js';
import { contentEtag } from '../storage/content-hash.js';
import type { DerivativeStore, SourceStore, StoredDerivative } from '../storage/types.js';
import { buildSegment } from '../url/segment.js';
import { Deadline } from './deadline.js';
import { aliasFromHeader, AliasMemory } from './effective-size.js';
import { FailureMemory } from './failure-memory.js';
import { HotSet } from './hot-set.js';
import { asServed, creationTime, derivativeMetadata, isProvisional } from './metadata.js';
import { Optimiser, type OptimiseOptions, type OptimiseStats } from './optimise.js';
import { Mezzanines, type StoredMezzanine } from './mezzanine.js';
import { purgeDerivatives } from './purge.js';
import { Revalidator } from './revalidate.js';
import { SingleFlight } from './single-flight.js';
import { failingAsChange, loadSource, SourceChanged, verified, type LoadedSource } from './source-read.js';

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
  /** Seconds a failed derivative key answers its error again without a transform (0: never remembered). */
  failureTtlSeconds?: number;
  /** Told what each request found and how long the slow steps took (metrics); optional, never throws back. */
  observer?: DeriveObserver;
  /**
   * One intermediate per source, from which later misses are made instead of the source (issue 14); absent: off.
   * Needs a derivative store to keep it in.
   */
  mezzanine?: MezzanineSettings;
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
  /** Where it is stored: the key asked for, or the size-free key it is the same image as (effective-size dedup). */
  key: string;
  cache: 'HIT' | 'MISS';
  /** In the derivative store (a failed write leaves it in this response only). */
  stored: boolean;
  /** The provisional Cache-Control while a re-encode is pending, the full one once final. */
  cacheControl: string;
  /** Milliseconds the transform waited in admission (reading the source included); misses only. */
  queuedMs?: number;
}

/** A source read and its header pass, as admission's read step produces them. */
interface SourceRead {
  source: LoadedSource;
  header: Inspected;
}

/** A stored mezzanine this miss can be made from, and how. */
interface FromMezzanine {
  mezzanine: StoredMezzanine;
  plan: MezzaninePlan;
}

/** What admission's read step hands its price and work steps: the source read, or the mezzanine that stands in for it. */
type Admitted = (SourceRead & { alias?: CanonicalSpec; makeMezzanine: boolean }) | (FromMezzanine & { alias?: undefined });

/** The box does not constrain the source: the derivative is the size-free one (effective-size dedup). */
interface Aliased {
  aliasOf: CanonicalSpec;
  read: SourceRead;
}

export interface DeriveStats {
  /** Transforms started (source decoded), for tests and metrics. */
  transforms: number;
  hits: number;
  misses: number;
  /** Mezzanines made, and derivatives made from one instead of the source. */
  mezzanines: number;
  fromMezzanine: number;
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

/** A transform's result: the bytes, the source version they were made from, and whether they are provisional. */
interface Transformed {
  sourceEtag: string;
  image: Rendered;
  provisional: boolean;
}

/**
 * The read-through derivative cache, transport-free: hot set, then store, then a transform admitted by cost and
 * shared by every concurrent request for the same key. Owns the store's metadata format and the policy for a
 * store that fails: a failed read is a miss, a failed write still returns the image.
 */
export function createDerivativeService(opts: DerivativeServiceOptions): DerivativeService {
  const admission = new Admission(opts.admission);
  const flights = new SingleFlight<Derivative | Aliased>();
  const aliases = new AliasMemory();
  const failures = new FailureMemory(opts.failureTtlSeconds ?? 0);
  const timeoutMs = opts.limits.timeoutSeconds * 1000;
  const revalidator = new Revalidator(opts.sources, opts.revalidateSeconds, opts.logger);
  const hot = new HotSet(opts.memoryCacheBytes, opts.memoryCacheTtlSeconds);
  const stats: DeriveStats = { transforms: 0, hits: 0, misses: 0, mezzanines: 0, fromMezzanine: 0 };
  const { sources, derivatives, limits, logger } = opts;
  const optimiser = derivatives && opts.optimise?.mode === 'idle'
    ? new Optimiser({ store: derivatives, sources, admission, limits, logger, options: opts.optimise, cacheControl: opts.cacheControl, finished: (key, d) => hot.set(key, asServed(d)) })
    : null;
  // Work a previous process left pending; a listing that fails leaves it for the hits that find it.
  optimiser?.resume().catch((err: unknown) => logger.warn({ err }, 'could not list pending re-encodes'));
  // Pending work nobody will do here (optimise off) is not held to the short Cache-Control.
  const cacheControlOf = (d: StoredDerivative) => (optimiser && opts.optimise && isProvisional(d) ? opts.optimise.provisionalCacheControl : opts.cacheControl);
  const observer: DeriveObserver = opts.observer ?? {};
  const mezzanines = derivatives && opts.mezzanine ? new Mezzanines(opts.mezzanine, derivatives, revalidator, limits, logger, () => { stats.mezzanines++; }) : null;
  const since = (t: number) => (performance.now() - t) / 1000;

  /** `storeFailed`: the store could not be read, so the miss does not ask it again for the mezzanine. */
  async function lookup(key: string): Promise<{ found: StoredDerivative | null; storeFailed?: true }> {
    const inMemory = hot.get(key);
    if (inMemory) {
      observer.lookup?.('memory');
      return { found: inMemory };
    }
    if (!derivatives) return { found: null };
    let stored: StoredDerivative | null;
    try {
      stored = await derivatives.get(key);
    } catch (err) {
      // An unreadable cache must not take the service down with it: make the image again and say so in the log.
      logger.error({ err, key }, 'derivative read failed; treated as a miss');
      return { found: null, storeFailed: true };
    }
    if (!stored) return { found: null };
    observer.lookup?.('store');
    const served = asServed(stored);
    hot.set(key, served);
    return { found: served };
  }

  /** A stored mezzanine that can stand in for the source in this miss, or null (src/pipeline/mezzanine.ts). */
  async function mezzanineFor(spec: CanonicalSpec, sourceKey: string): Promise<{ found: FromMezzanine | null; exists: boolean }> {
    if (!mezzanines || specFallback(spec) || !mezzanines.mayExist(sourceKey)) return { found: null, exists: false };
    const mezzanine = await mezzanines.find(sourceKey);
    if (!mezzanine) return { found: null, exists: false };
    const plan = planFromMezzanine(spec, mezzanine.facts, mezzanine, limits);
    return { found: typeof plan === 'string' ? null : { mezzanine, plan }, exists: true };
  }

  /**
   * `preread`: the source and header a request for an alias of this key has already read, so they are not read twice.
   * `skipMezzanine`: the derivative found was made from an older source, so its mezzanine is not trusted either
   * (the source is read, and the mezzanine made again from it); or the store just failed, and is not asked again.
   */
  async function make(spec: CanonicalSpec, sourceKey: string, key: string, signal: AbortSignal, preread?: SourceRead, skipMezzanine = false): Promise<Derivative | Aliased> {
    try {
      return await makeOnce(spec, sourceKey, key, signal, preread, skipMezzanine, false);
    } catch (err) {
      if (!(err instanceof SourceChanged)) throw err;
      // The file was replaced while libvips read it: once more, from bytes read whole, which cannot change under us.
      logger.info({ key, sourceKey }, 'source changed while it was read; reading it again');
      return makeOnce(spec, sourceKey, key, signal, undefined, skipMezzanine, true);
    }
  }

  async function makeOnce(spec: CanonicalSpec, sourceKey: string, key: string, signal: AbortSignal, preread: SourceRead | undefined, skipMezzanine: boolean, wholeRead: boolean): Promise<Derivative | Aliased> {
    // The deadline covers decode, pipeline and encode; sharp's own timeout misses the AVIF encoder (src/derive/deadline.ts).
    const deadline = new Deadline<{ alias: CanonicalSpec; read: SourceRead } | Transformed>({ timeoutMs, holdAfterTimeoutMs: timeoutMs });
    const asked = performance.now();
    let queuedMs = 0;
    const result = await deadline.answer(admission.run<Admitted, { alias: CanonicalSpec; read: SourceRead } | Transformed>({
      signal,
      read: async () => {
        if (preread) return { ...preread, alias: aliasFromHeader(spec, preread.header), makeMezzanine: false };
        const mezzanine = skipMezzanine ? { found: null, exists: false } : await mezzanineFor(spec, sourceKey);
        if (mezzanine.found) return mezzanine.found;
        const t = performance.now();
        const read = await loadSource(sources, sourceKey, { maxBytes: limits.maxSourceBytes, signal }, wholeRead).catch((err: unknown) => {
          observer.sourceRead?.(since(t), err instanceof ResizerError && err.status < 500 ? 'rejected' : 'error');
          throw err;
        });
        observer.sourceRead?.(since(t), 'ok');
        const header = await failingAsChange(read, inspect(read.input, limits));
        // A box the source already fits in: the size-free key's image, no transform (effective-size dedup).
        const alias = aliasFromHeader(spec, header);
        // Made on the second miss that decodes the source (one whose options could use it), or again over a stale one.
        const holds = mezzanines !== null && canHoldSource(header, mezzanines.settings);
        if (mezzanines && !holds) mezzanines.cannotHold(sourceKey);
        const makeMezzanine = holds && !alias && !mezzanine.exists && !specFallback(spec) && (skipMezzanine || mezzanines.worthMaking(sourceKey));
        return { source: read, header, alias, makeMezzanine };
      },
      price: (r) => priceOf(spec, r),
      work: (r) => {
        if (r.alias) return Promise.resolve({ alias: r.alias, read: { source: r.source, header: r.header } });
        stats.transforms++;
        const t = performance.now();
        queuedMs = t - asked;
        return deadline.hold(transform(spec, sourceKey, r).then((done) => {
          observer.transform?.(done.image.contentType, since(t));
          return done;
        }));
      },
    }));
    if ('alias' in result) return { aliasOf: result.alias, read: result.read };
    const { sourceEtag, image, provisional } = result;
    const created = creationTime();
    const metadata = derivativeMetadata(sourceEtag, created, provisional);
    const made: StoredDerivative = { body: image.body, etag: contentEtag(image.body), lastModified: created, contentType: image.contentType, metadata };
    const stored = await store(key, made, provisional ? () => optimiser?.record(key, { sourceKey, spec }) : undefined);
    if (stored && provisional) optimiser?.enqueue(key, { sourceKey, spec });
    if (stored || !opts.needsStored) hot.set(key, made);
    return { ...made, key, cache: 'MISS', stored, cacheControl: cacheControlOf(made), queuedMs };
  }

  /** Admission's price: a render from the mezzanine, or from the source (plus making the mezzanine, when it is made). */
  function priceOf(spec: CanonicalSpec, r: Admitted) {
    if ('plan' in r) return { ...predictCost(mezzanineShape(r.plan, r.mezzanine)), sourceBytes: r.mezzanine.body.length };
    if (r.alias) return { memoryBytes: 0, cpuMs: 0, sourceBytes: 0 };
    const direct = predictCost(describeTransform(r.header, spec, limits));
    if (!r.makeMezzanine || !mezzanines) return { ...direct, sourceBytes: r.source.heldBytes };
    const side = mezzanines.settings.longSide;
    const making = predictCost(describeTransform(r.header, { width: side, height: side, format: 'jpeg' }, limits));
    // One after the other: the larger peak, the sum of the time.
    return { memoryBytes: Math.max(direct.memoryBytes, making.memoryBytes), cpuMs: direct.cpuMs + making.cpuMs, sourceBytes: r.source.heldBytes };
  }

  /** The transform itself, from the mezzanine when one can stand in for the source. */
  async function transform(spec: CanonicalSpec, sourceKey: string, r: Admitted): Promise<Transformed> {
    // Re-encoded later at auto quality: encoded now at the provisional quality, the floor the re-encode keeps.
    const provisionalFor = (shape: Pick<Rendered, 'format' | 'frames'>) => optimiser !== null && canAutoQuality(spec, shape);
    let from = 'plan' in r ? r : null;
    if (!from && 'source' in r && r.makeMezzanine && mezzanines) {
      const mezzanine = await mezzanines.make(sourceKey, r.source, r.header);
      const plan = planFromMezzanine(spec, mezzanine.facts, mezzanine, limits);
      if (typeof plan !== 'string') from = { mezzanine, plan };
    }
    if (from) {
      stats.fromMezzanine++;
      const provisional = provisionalFor({ format: from.plan.format, frames: 1 });
      return { sourceEtag: from.mezzanine.sourceEtag, image: await renderFromMezzanine(from.mezzanine.body, spec, from.plan, limits, { provisional }), provisional };
    }
    const read = r as SourceRead;
    const provisional = provisionalFor(describeTransform(read.header, spec, limits));
    const image = await verified(read.source, render(read.source.input, spec, limits, read.header, { provisional }));
    return { sourceEtag: read.source.etag, image, provisional };
  }

  /**
   * `record` notes the pending re-encode beside the write, not before it, to keep the miss fast: a marker that
   * failed (logged) leaves the work to the hits that find the provisional derivative.
   */
  async function store(key: string, d: StoredDerivative, record?: () => Promise<void> | undefined): Promise<boolean> {
    if (!derivatives) return false;
    const t = performance.now();
    try {
      const noted = Promise.resolve(record?.()).catch((err: unknown) => logger.warn({ err, key }, 'pending re-encode not recorded'));
      await derivatives.put(key, d.body, { contentType: d.contentType, cacheControl: cacheControlOf(d), metadata: d.metadata, servable: !isProvisional(d) });
      await noted;
      observer.storeWrite?.(since(t), true);
      return true;
    } catch (err) {
      observer.storeWrite?.(since(t), false);
      // The client still gets its image; the next request will try to store it again.
      logger.error({ err, key }, 'derivative write failed');
      return false;
    }
  }

  async function get(spec: CanonicalSpec, sourceKey: string, key: string, signal?: AbortSignal, preread?: SourceRead): Promise<Derivative> {
    const alias = aliases.get(key);
    if (alias) return get(alias.spec, sourceKey, alias.key, signal, preread);
    const { found, storeFailed } = await lookup(key);
    const outdated = found !== null && await revalidator.isOutdated(key, sourceKey, found);
    if (found && !outdated) {
      stats.hits++;
      // Pending work this process does not know of yet (a marker lost, a store that cannot list).
      if (isProvisional(found)) optimiser?.enqueue(key, { sourceKey, spec });
      return { ...found, key, cache: 'HIT', stored: true, cacheControl: cacheControlOf(found) };
    }
    stats.misses++;
    observer.lookup?.('miss');
    // A source that failed lately fails again at once, without a transform (src/derive/failure-memory.ts).
    failures.check(key);
    const { value } = await flights.run(key, (shared) => make(spec, sourceKey, key, shared, preread, outdated || storeFailed === true).catch((err: unknown) => { throw failures.remember(key, err); }), signal);
    if ('aliasOf' in value) {
      // The box does not constrain this source: the image is the size-free one, stored once under its key.
      const target = { key: derivativeKey(buildSegment(value.aliasOf), sourceKey), spec: value.aliasOf };
      aliases.set(key, target);
      return get(target.spec, sourceKey, target.key, signal, value.read);
    }
    return value;
  }

  return {
    stats,
    admission,
    optimiser,
    get,
    async purge(sourceKey) {
      // The mezzanine too (purgeDerivatives deletes it): it is a derivative of the source like any other.
      const keys = derivatives ? await purgeDerivatives(derivatives, sourceKey) : [];
      for (const k of keys) hot.delete(k);
      mezzanines?.forget(sourceKey);
      aliases.clear();
      return keys;
    },
  };
}
