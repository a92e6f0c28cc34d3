import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { pino } from 'pino';
import type { App, Logger } from '../app.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { buildApp } from '../runtime.js';
import { derivativeKey } from '../keys/index.js';
import { openDerivativeStore, openSourceStore, s3SettingsOf } from '../storage/open.js';
import { isS3Location, parseS3Location, type S3Location } from '../storage/s3-settings.js';
import type { DerivativeStore, SourceStore } from '../storage/types.js';
import { cdnPath } from '../cdn/viewer-request.js';
import type { ParseLimits } from '../ops/spec.js';
import { encodeKey } from '../url/path.js';
import { parseSegment } from '../url/segment.js';

/** Settings of this function only; the app's own come from the same RESIZER_* variables as the server. */
export const DISTRIBUTION_ENV = 'RESIZER_CLOUDFRONT_DISTRIBUTION_ID';
export const PREGENERATE_ENV = 'RESIZER_PREGENERATE';
export const INVALIDATION_MAX_PATHS_ENV = 'RESIZER_INVALIDATION_MAX_PATHS';
const OWN_ENV = [DISTRIBUTION_ENV, PREGENERATE_ENV, INVALIDATION_MAX_PATHS_ENV];

export interface S3EventOptions {
  app: App;
  /** Where the sources live: events for other buckets or outside the prefix are refused, not ignored. */
  source: S3Location;
  logger: Logger;
  /**
   * Invalidate the CDN copies of the source's derivatives in this distribution. `derivatives` is the app's store
   * (its segments are listed) and `derivativeObjects` a read-only view of the same location, whose head() tells
   * which derivatives exist: only those can be cached, so a new source's upload invalidates nothing.
   */
  cloudfront?: { client: CloudFrontClient; distributionId: string; maxPaths: number; derivatives: DerivativeStore; derivativeObjects: SourceStore };
  /** Options segments made as soon as a source is created (`400x300`, `200x,webp`). */
  pregenerate?: string[];
}

export interface S3EventOutcome {
  sourceKey: string;
  action: 'created' | 'removed';
  purged: string[];
  invalidated: string[];
  /** Status per pre-generated segment. */
  generated: Record<string, number>;
}

/** S3 event keys are URL-encoded form values: `+` is a space, and a real `+` arrives as `%2B`. */
export function eventKey(record: S3EventRecord): string {
  return decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
}

/**
 * A source overwritten or deleted leaves derivatives made from the old bytes: delete them (the app's purge),
 * and optionally their CDN copies. A source created can have its sizes made before anyone asks.
 */
export function createS3EventHandler(opts: S3EventOptions): (event: S3Event) => Promise<S3EventOutcome[]> {
  return async (event) => {
    const outcomes: S3EventOutcome[] = [];
    // One record at a time: S3 sends one per event today, and a purge already deletes in parallel.
    for (const record of event.Records) outcomes.push(await handleRecord(opts, record));
    return outcomes;
  };
}

async function handleRecord(opts: S3EventOptions, record: S3EventRecord): Promise<S3EventOutcome> {
  const action = record.eventName.startsWith('ObjectCreated:') ? 'created'
    : record.eventName.startsWith('ObjectRemoved:') ? 'removed' : undefined;
  if (!action) throw new Error(`Unexpected S3 event ${record.eventName}: only ObjectCreated and ObjectRemoved are handled`);
  const sourceKey = sourceKeyOf(opts.source, record);
  const existing = opts.cloudfront ? await existingDerivatives(opts.cloudfront, sourceKey) : [];
  const purged = await opts.app.purge(sourceKey);
  const invalidated = opts.cloudfront && existing.length ? await invalidate(opts.cloudfront, existing, sourceKey, record) : [];
  const generated: Record<string, number> = {};
  if (action === 'created') {
    for (const segment of opts.pregenerate ?? []) {
      const out = await opts.app.handle({ method: 'GET', url: `/${encodeURIComponent(segment)}/${encodeKey(sourceKey)}`, headers: {} });
      generated[segment] = out.status;
      // 302 when the app redirects (delivery "redirect"): stored all the same.
      if (out.status !== 200 && out.status !== 302) opts.logger.warn({ sourceKey, segment, status: out.status, body: out.body?.toString().slice(0, 200) }, 'pre-generation failed');
    }
  }
  opts.logger.info({ sourceKey, action, purged: purged.length, invalidated: invalidated.length, generated }, 'source changed');
  return { sourceKey, action, purged, invalidated, generated };
}

function sourceKeyOf(source: S3Location, record: S3EventRecord): string {
  const bucket = record.s3.bucket.name;
  const key = eventKey(record);
  if (bucket !== source.bucket) throw new Error(`S3 event for bucket ${bucket}, but the sources are in ${source.bucket}`);
  if (!key.startsWith(source.prefix)) throw new Error(`S3 event for ${key}, outside the source prefix ${source.prefix}`);
  return key.slice(source.prefix.length);
}

/** HEADs run this many at a time, as the purge's deletes do. */
const PARALLEL_HEADS = 8;

/** The derivative keys of a source that exist now, before the purge deletes them. */
async function existingDerivatives(cf: NonNullable<S3EventOptions['cloudfront']>, sourceKey: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const segment of cf.derivatives.listSegments()) keys.push(derivativeKey(segment, sourceKey));
  const existing: string[] = [];
  for (let i = 0; i < keys.length; i += PARALLEL_HEADS) {
    const batch = keys.slice(i, i + PARALLEL_HEADS);
    const found = await Promise.all(batch.map((k) => cf.derivativeObjects.head(k)));
    existing.push(...batch.filter((_, j) => found[j] !== null));
  }
  return existing;
}

/**
 * CloudFront takes a wildcard only at the end of a path, so `/*\/{key}` cannot name one source's derivatives in
 * every segment. The viewer-request function makes every cached URL canonical (cdnPath), so the derivatives that
 * existed are exactly the paths that can be cached: those are invalidated, or the whole distribution (`/*`, one
 * path) past maxPaths, since each path past the first 1,000 a month is billed. (A CDN copy that outlived its bucket
 * copy, deleted by the lifecycle rule, is not found this way; it ages out with its Cache-Control.)
 */
async function invalidate(cf: NonNullable<S3EventOptions['cloudfront']>, keys: string[], sourceKey: string, record: S3EventRecord): Promise<string[]> {
  // A derivative key is `{segment}/{source key}`: the CDN spells it as the viewer-request function rewrites it.
  const paths = keys.length > cf.maxPaths ? ['/*'] : keys.map((k) => cdnPath(k.slice(0, k.length - sourceKey.length - 1), sourceKey));
  await cf.client.send(new CreateInvalidationCommand({
    DistributionId: cf.distributionId,
    InvalidationBatch: {
      // Unique per S3 event, so a retried delivery of the same event is not invalidated twice.
      CallerReference: `${record.s3.bucket.name}/${record.s3.object.key}/${record.s3.object.sequencer ?? record.eventTime}`.slice(0, 128),
      Paths: { Quantity: paths.length, Items: paths },
    },
  }));
  return paths;
}

/** Builds the handler from the environment, as the Lambda does once per container. */
export async function s3EventHandlerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<(event: S3Event) => Promise<S3EventOutcome[]>> {
  const config = loadConfig({}, env, OWN_ENV);
  if (!isS3Location(config.source)) throw new ConfigError('Invalid RESIZER_SOURCE: S3 events need an s3:// source');
  const logger = pino({ level: config.logLevel });
  const distributionId = env[DISTRIBUTION_ENV];
  const maxPaths = Number(env[INVALIDATION_MAX_PATHS_ENV] ?? 50);
  if (!Number.isInteger(maxPaths) || maxPaths < 1 || maxPaths > 3000) {
    throw new ConfigError(`Invalid ${INVALIDATION_MAX_PATHS_ENV}: expected an integer from 1 to 3000`);
  }
  const s3 = s3SettingsOf(config);
  const derivatives = await openDerivativeStore(config.cache, s3);
  if (!derivatives) throw new ConfigError('Invalid RESIZER_CACHE: S3 events purge a derivative store, not "none"');
  return createS3EventHandler({
    app: await buildApp(config, logger, { derivatives }),
    source: parseS3Location(config.source),
    logger,
    cloudfront: distributionId
      ? { client: new CloudFrontClient({}), distributionId, maxPaths, derivatives, derivativeObjects: await openSourceStore(config.cache, s3) }
      : undefined,
    pregenerate: pregenerateSegments(env[PREGENERATE_ENV] ?? '', config),
  });
}

/** Space-separated options segments, each checked at start so a typo fails the deployment, not every upload. */
function pregenerateSegments(list: string, limits: ParseLimits): string[] {
  const segments = list.split(/\s+/).filter(Boolean);
  for (const segment of segments) {
    try {
      parseSegment(segment, limits);
    } catch (err) {
      throw new ConfigError(`Invalid ${PREGENERATE_ENV}: ${(err as Error).message}`);
    }
  }
  return segments;
}
