import type { Admission } from '../admission/admission.js';
import { NotFound, ResizerError } from '../errors/index.js';
import type { CanonicalSpec } from '../ops/spec.js';
import { inspect, renderPixels } from '../pipeline/index.js';
import type { PipelineLimits } from '../pipeline/limits.js';
import { autoQuality } from '../quality/auto.js';
import type { Trial } from '../quality/search.js';
import { contentEtag } from '../storage/content-hash.js';
import { RESERVED_SEGMENT } from '../url/path.js';
import type { DerivativeStore, SourceStore, StoredDerivative } from '../storage/types.js';
import { creationTime, CREATED, isProvisional, OPTIMISE, QUALITY, SOURCE_ETAG, SSIM } from './metadata.js';

export interface OptimiseOptions {
  /** `idle`: misses are stored provisional and re-encoded when the transform slots are idle; `off`: final at once. */
  mode: 'off' | 'idle';
  /** SSIM (against the lossless render) every re-encode must reach. */
  qualityTarget: number;
  /** Cache-Control of provisional derivatives: short, so caches come back for the final bytes. */
  provisionalCacheControl: string;
  /** How long nothing must have run or waited before a background step starts (default 200 ms). */
  quietMs?: number;
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

interface Pending {
  sourceKey: string;
  spec: CanonicalSpec;
}

/**
 * Where pending work is recorded, beside the derivatives: `_/optimise/{derivative key}`, whose body is what the
 * re-encode needs. `_` is the reserved service segment, so no URL's derivative can live there. The derivative's
 * own metadata (`optimise: pending|done`) is the truth; a marker only says where to look after a restart.
 */
const MARKERS = `${RESERVED_SEGMENT}/optimise/`;

/** Thrown at the next step once closed: the work stays pending in the store for the next process. */
class Stopped extends Error {}

export interface OptimiserDeps {
  store: DerivativeStore;
  sources: SourceStore;
  admission: Admission;
  limits: PipelineLimits & { maxSourceBytes: number };
  options: OptimiseOptions;
  /** Full Cache-Control, stored with final bytes. */
  cacheControl: string;
  logger: Logger;
  /** Told of every derivative made final, so the hot set serves the new bytes. */
  finished(key: string, d: StoredDerivative): void;
}

export interface OptimiseStats {
  replaced: number;
  kept: number;
  dropped: number;
}

/**
 * "Optimise later": provisional derivatives are re-encoded at auto quality and best effort, one at a time, and only
 * while admission is idle. Each step (the render, every trial encode) waits for idleness first, so a request
 * arriving meanwhile shares the CPU with at most one step and never waits behind background work.
 */
export class Optimiser {
  private readonly queue = new Map<string, Pending>();
  private running: Promise<void> | null = null;
  private closed = false;
  readonly stats: OptimiseStats = { replaced: 0, kept: 0, dropped: 0 };

  constructor(private readonly deps: OptimiserDeps) {}

  /**
   * Records pending work in the store, beside the write of the provisional bytes (a marker without them is dropped
   * when found); the caller enqueues the work once both are written.
   */
  async record(key: string, pending: Pending): Promise<void> {
    await this.deps.store.put(MARKERS + key, Buffer.from(JSON.stringify(pending)), { contentType: 'application/json' });
  }

  enqueue(key: string, pending: Pending): void {
    if (this.closed || this.queue.has(key)) return;
    this.queue.set(key, pending);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.closed || this.queue.size === 0) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // Work queued between the last step and this callback.
      this.kick();
    });
  }

  /** After a restart: every marker in the store becomes pending work again. */
  async resume(): Promise<number> {
    let found = 0;
    for await (const marker of this.deps.store.listKeys(MARKERS)) {
      const d = await this.deps.store.get(marker).catch(() => null);
      if (!d) continue;
      try {
        this.enqueue(marker.slice(MARKERS.length), JSON.parse(d.body.toString('utf8')) as Pending);
        found++;
      } catch {
        await this.forget(marker.slice(MARKERS.length));
      }
    }
    return found;
  }

  /** Stops taking work; resolves when the step in progress has ended. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.clear();
    await this.running;
  }

  /** Resolves when there is no queued work left (for tests and a graceful stop). */
  async drained(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    for (const [key, pending] of this.queue) {
      if (this.closed) return;
      try {
        await this.optimise(key, pending);
      } catch (err) {
        if (err instanceof Stopped) return;
        // Left pending: the marker stays, so the next restart (or hit) tries again.
        this.deps.logger.warn({ err, key }, 'background re-encode failed');
      }
      this.queue.delete(key);
    }
  }

  private async optimise(key: string, { sourceKey, spec }: Pending): Promise<void> {
    const { store, sources, admission, limits, options } = this.deps;
    const quiet = async () => {
      await admission.whenIdle(options.quietMs ?? 200);
      if (this.closed) throw new Stopped();
    };
    await quiet();
    const current = await store.get(key);
    if (!current || !isProvisional(current)) return this.drop(key);
    const source = await sources.get(sourceKey, { maxBytes: limits.maxSourceBytes }).catch((err: unknown) => {
      if (err instanceof NotFound) return null;
      throw err;
    });
    // The source is gone: its derivatives go with the next purge.
    if (!source) return this.drop(key);
    // Made from an older source: revalidation will make it again; it stays provisional (short-lived) till then.
    if (source.etag !== current.metadata[SOURCE_ETAG]) return this.drop(key);
    await quiet();
    let best: Trial | null = null;
    try {
      const pixels = await renderPixels(source.body, spec, limits, await inspect(source.body, limits));
      ({ best } = await autoQuality(pixels, spec, options.qualityTarget, limits, { provisional: current.body, before: quiet }));
    } catch (err) {
      // A property of the image (a 4xx: too long, undecodable now): retrying would fail the same way, so the
      // provisional bytes are kept and made final below.
      if (!(err instanceof ResizerError) || err.status >= 500) throw err;
    }
    // Purged or made again while we worked: those bytes win.
    const now = await store.get(key);
    if (!now || now.etag !== current.etag) return this.drop(key);
    const found = best as Trial | null;
    const chosen = found && found.body.length < current.body.length ? found : null;
    const smaller = chosen !== null;
    const body = chosen ? chosen.body : current.body;
    const created = chosen ? creationTime() : new Date(current.metadata[CREATED] ?? current.lastModified);
    const metadata: Record<string, string> = { ...current.metadata, [OPTIMISE]: 'done', [CREATED]: created.toISOString() };
    if (chosen) Object.assign(metadata, { [QUALITY]: String(chosen.quality), [SSIM]: chosen.ssim.toFixed(4) });
    await store.put(key, body, { contentType: current.contentType, cacheControl: this.deps.cacheControl, metadata, servable: true });
    await this.forget(key);
    if (smaller) this.stats.replaced++;
    else this.stats.kept++;
    this.deps.logger.info({ key, bytes: current.body.length, final: body.length, quality: chosen?.quality, ssim: chosen?.ssim }, smaller ? 'derivative re-encoded' : 'provisional bytes kept');
    this.deps.finished(key, { body, etag: contentEtag(body), lastModified: created, contentType: current.contentType, metadata });
  }

  /** Nothing left to do for this key: gone, already final, or made again by someone else. */
  private async drop(key: string): Promise<void> {
    this.stats.dropped++;
    await this.forget(key);
  }

  private async forget(key: string): Promise<void> {
    await this.deps.store.delete(MARKERS + key);
  }
}
