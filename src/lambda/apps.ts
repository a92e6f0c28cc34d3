import { pino } from 'pino';
import type { App, Logger } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { buildApp } from '../runtime.js';
import { openDerivativeStore, openSourceStore, s3SettingsOf } from '../storage/open.js';

/** What one Lambda container serves with: the app, and a twin that answers with redirects for oversized images. */
export interface LambdaApps {
  app: App;
  /**
   * The same stores with `delivery: redirect`: asked only when a response would not fit Lambda's payload limit,
   * it answers 302 to `{publicBase}/{derivative key}` for the derivative the first app has just stored. Without
   * RESIZER_PUBLIC_BASE the redirect is relative, `/{derivative key}`: behind CloudFront that is the URL just asked
   * for (the viewer-request function made it canonical), now served from the bucket.
   */
  oversized: App;
  config: Config;
  logger: Logger;
}

/**
 * Config from the same RESIZER_* variables as the server. A Lambda must be able to redirect to a stored
 * derivative (see LambdaApps), so it needs a derivative store; without one it refuses to start, naming it.
 */
export function lambdaConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A Lambda is frozen between invocations: it has no idle time to re-encode in, so misses are final unless asked.
  const config = { ...loadConfig({}, env), ...(env.RESIZER_OPTIMISE ? {} : { optimise: 'off' as const }) };
  if (config.cache === 'none') throw new ConfigError('Invalid RESIZER_CACHE: a Lambda needs a derivative store, not "none"');
  return config;
}

export async function buildLambdaApps(config: Config, logger: Logger = pino({ level: config.logLevel })): Promise<LambdaApps> {
  const s3 = s3SettingsOf(config);
  const stores = { sources: await openSourceStore(config.source, s3), derivatives: await openDerivativeStore(config.cache, s3) };
  // Nothing scrapes a Lambda: CloudWatch has its invocations, durations and errors, and the access log its requests.
  const app = await buildApp({ ...config, metrics: 'off' }, logger, stores);
  // No hot set of its own: it reads the derivative the first app stored, once per oversized response.
  const oversized = await buildApp({ ...config, metrics: 'off', delivery: 'redirect', memoryCacheMb: 0 }, logger, stores);
  return { app, oversized, config, logger };
}
