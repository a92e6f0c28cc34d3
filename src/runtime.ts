import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { defaultMemoryBudget } from './admission/budget.js';
import { createApp, type App, type Logger, type ServiceRoute } from './app.js';
import { accessRulesOf } from './config/access.js';
import type { Config } from './config/index.js';
import { accessLog } from './observe/access-log.js';
import { offerToPrimary, scrapeViaPrimary } from './observe/cluster-metrics.js';
import { createMetrics, storeKind, type Metrics } from './observe/metrics.js';
import type { RequestRecord } from './observe/record.js';
import { createReadiness, type Readiness } from './observe/readiness.js';
import { RequestGate } from './url/gate.js';
import { nodeHmac } from './url/node-hmac.js';
import type { PipelineLimits } from './pipeline/limits.js';
import { configureSharp } from './pipeline/sharp-setup.js';
import { playgroundRoutes } from './playground/routes.js';
import { httpSourceOptionsOf, openDerivativeStore, openSourceStore, s3SettingsOf } from './storage/open.js';
import type { DerivativeStore, SourceStore } from './storage/types.js';

/** Stores built elsewhere (tests pointing at an emulator), instead of the ones the config names. */
export interface StoreOverrides {
  sources?: SourceStore;
  derivatives?: DerivativeStore | null;
}

/** The pipeline's limits from the config, which holds their one set of defaults. */
export function pipelineLimits(config: Config): PipelineLimits & { maxSourceBytes: number } {
  return {
    maxSourceBytes: config.maxSourceBytes,
    maxInputPixels: config.maxInputPixels,
    maxOutputWidth: config.maxOutputWidth,
    maxOutputHeight: config.maxOutputHeight,
    maxOutputPixels: config.maxOutputPixels,
    timeoutSeconds: config.transformTimeoutSeconds,
    svg: config.svg === 'on',
    maxSvgBytes: config.maxSvgBytes,
    maxFrames: config.maxFrames,
  };
}

/** The app with what operating it needs: readiness (drained on shutdown) and its metrics (unless off). */
export interface RunningApp extends App {
  readonly readiness: Readiness;
  readonly metrics?: Metrics;
}

export interface BuildOptions {
  /** False: no access log (warm-up, whose output is its progress). */
  accessLog?: boolean;
  /** A cluster worker: /_/metrics answers the sum over every worker, gathered by the primary. */
  clusterWorker?: boolean;
  /** False: leave crash leftovers in the derivative store alone (one-shot tools). */
  sweep?: boolean;
}

/** A temp file older than this belongs to no live writer (a write takes milliseconds). */
export const ORPHAN_AGE_MS = 60_000;

/**
 * Temp files orphaned by a crash are removed in the background at start (those older than a minute: another
 * server sharing the folder may be writing), and hourly after, which also catches the ones that were too young.
 */
function sweepNowAndHourly(store: DerivativeStore, logger: Logger): void {
  const sweep = () => store.sweep?.(ORPHAN_AGE_MS).then(
    (n) => {
      if (n) logger.info({ removed: n, store: store.description }, 'removed temp files left by a crash');
      else logger.info({ store: store.description }, 'swept for temp files left by a crash: none');
    },
    (err: unknown) => logger.warn({ err, store: store.description }, 'sweeping temp files failed'),
  );
  void sweep();
  setInterval(sweep, 3_600_000).unref();
}

/** Builds the app from a config: the one wiring shared by the server, the Lambda handler and the CLI tools. */
export async function buildApp(
  config: Config, logger: Logger = pino({ level: config.logLevel }), stores: StoreOverrides = {}, build: BuildOptions = {},
): Promise<RunningApp> {
  configureSharp({ transforms: config.concurrency, cores: availableParallelism() });
  const sources = stores.sources ?? await openSourceStore(config.source, s3SettingsOf(config), httpSourceOptionsOf(config));
  const derivatives = stores.derivatives !== undefined ? stores.derivatives : await openDerivativeStore(config.cache, s3SettingsOf(config));
  const metrics = config.metrics === 'on' ? createMetrics() : undefined;
  const readiness = createReadiness({ sources, derivatives, logger });
  const app = createApp({
    sources,
    derivatives,
    limits: pipelineLimits(config),
    cacheControl: config.cacheControl,
    admission: {
      slots: config.concurrency,
      queueSize: config.queueSize,
      queueTimeoutMs: config.queueTimeoutMs,
      memoryBudgetBytes: config.memoryBudgetMb > 0
        ? config.memoryBudgetMb * 2 ** 20
        : defaultMemoryBudget({ baselineBytes: process.memoryUsage.rss(), hotSetBytes: config.memoryCacheMb * 2 ** 20, workers: config.workers }),
      readConcurrency: config.readConcurrency > 0 ? config.readConcurrency : 2 * config.concurrency,
    },
    memoryCacheBytes: config.memoryCacheMb * 1024 * 1024,
    memoryCacheTtlSeconds: config.memoryCacheTtlSeconds,
    logger,
    delivery: config.delivery,
    publicBase: config.publicBase,
    revalidateSeconds: config.revalidateSeconds,
    failureTtlSeconds: config.failureTtlSeconds,
    gate: new RequestGate({ maxOutputWidth: config.maxOutputWidth, maxOutputHeight: config.maxOutputHeight }, accessRulesOf(config), undefined, nodeHmac),
    mezzanine: config.mezzanine === 'on' ? { longSide: config.mezzanineSize, quality: config.mezzanineQuality } : undefined,
    optimise: { mode: config.optimise, qualityTarget: config.qualityTarget, provisionalCacheControl: config.provisionalCacheControl },
    serviceRoutes: {
      // The production profile turns the playground off: it lists the sources and makes any size on demand.
      ...(config.playground === 'on' && !config.production ? playgroundRoutes(sources, config) : {}),
      readyz: readiness.route,
      // With --metrics-port, metrics are only on that port (src/server/ops-server.ts).
      ...(metrics && config.metricsPort === 0 ? { metrics: metricsRoute(metrics, build.clusterWorker ?? false) } : {}),
    },
    observer: metrics?.observer({ source: storeKind(sources.description), derivatives: storeKind(derivatives?.description) }),
    onRequest: requestObserver(build.accessLog === false ? undefined : accessLog(logger, config.logHitPercent), metrics),
  });
  metrics?.watch(app);
  if (derivatives?.sweep && build.sweep !== false) sweepNowAndHourly(derivatives, logger);
  if (build.clusterWorker) offerToPrimary(metrics?.registry, () => readiness.isReady());
  return Object.assign(app, { readiness, metrics });
}

/** The access log and the metrics, each told about every request (either may be off). */
function requestObserver(log: ((r: RequestRecord) => void) | undefined, metrics: Metrics | undefined): ((r: RequestRecord) => void) | undefined {
  if (!log && !metrics) return undefined;
  return (r) => {
    log?.(r);
    metrics?.request(r);
  };
}

function metricsRoute(metrics: Metrics, clusterWorker: boolean): ServiceRoute {
  return async () => {
    const text = clusterWorker ? await scrapeViaPrimary() : await metrics.registry.metrics();
    return { status: 200, headers: { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }, body: text };
  };
}
