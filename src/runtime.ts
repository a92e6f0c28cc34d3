import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { defaultMemoryBudget } from './admission/budget.js';
import { createApp, type App, type Logger } from './app.js';
import { accessRulesOf } from './config/access.js';
import type { Config } from './config/index.js';
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

/** Builds the app from a config: the one wiring shared by the server, the Lambda handler and the CLI tools. */
export async function buildApp(config: Config, logger: Logger = pino({ level: config.logLevel }), stores: StoreOverrides = {}): Promise<App> {
  configureSharp({ transforms: config.concurrency, cores: availableParallelism() });
  const sources = stores.sources ?? await openSourceStore(config.source, s3SettingsOf(config), httpSourceOptionsOf(config));
  return createApp({
    sources,
    derivatives: stores.derivatives !== undefined ? stores.derivatives : await openDerivativeStore(config.cache, s3SettingsOf(config)),
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
    optimise: { mode: config.optimise, qualityTarget: config.qualityTarget, provisionalCacheControl: config.provisionalCacheControl },
    // The production profile turns the playground off: it lists the sources and makes any size on demand.
    serviceRoutes: config.playground === 'on' && !config.production ? playgroundRoutes(sources, config) : {},
  });
}
