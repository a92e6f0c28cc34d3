import { availableParallelism } from 'node:os';
import * as v from 'valibot';
import { isS3Location, parseS3Location } from '../storage/s3-settings.js';
import { accessProblems } from './access.js';

/**
 * One typed config, from env and flags (flags win). Every field names the flag and variable it comes from,
 * so a validation error tells the user exactly what to fix.
 */
export interface Setting {
  key: keyof Config;
  flag: string;
  env: string;
  help: string;
  /** A switch: the bare flag means true (`--s3-force-path-style`); env takes true/false/1/0. */
  boolean?: true;
  /** The flag may be given more than once; its values are joined with this separator (the variable's own). */
  repeatable?: string;
}

const cores = Math.max(1, availableParallelism());

// valibot rather than zod: the same typed schema, loaded in ~8 ms instead of ~55 ms of every cold start.
const intIn = (min: number, max: number) => v.pipe(
  v.union([v.string(), v.number()]),
  v.transform((x) => (typeof x === 'string' && x.trim() === '' ? Number.NaN : Number(x))),
  v.check((n) => Number.isInteger(n) && n >= min && n <= max, `expected an integer from ${min} to ${max}`),
);
const fraction = v.pipe(
  v.union([v.string(), v.number()]),
  v.transform((x) => (typeof x === 'string' && x.trim() === '' ? Number.NaN : Number(x))),
  v.check((n) => Number.isFinite(n) && n > 0.5 && n < 1, 'expected a number between 0.5 and 1, e.g. 0.98'),
);
const nonEmpty = v.pipe(v.string(), v.minLength(1, 'expected a non-empty value'));
const oneOf = <const T extends string>(values: readonly [T, ...T[]]) => v.picklist(values, `expected one of ${values.join(', ')}`);
const onOff = v.union([
  v.boolean(),
  v.pipe(v.picklist(['true', 'false', '1', '0', 'yes', 'no']), v.transform((x) => x === 'true' || x === '1' || x === 'yes')),
], 'expected true or false');
const httpBase = v.union([
  v.literal(''),
  v.pipe(v.string(), v.check((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol)), v.transform((u) => u.replace(/\/+$/, ''))),
], 'expected an http(s) URL');

const schema = v.object({
  source: nonEmpty,
  cache: nonEmpty,
  port: intIn(0, 65535),
  host: nonEmpty,
  cacheControl: nonEmpty,
  maxSourceBytes: intIn(1, 2 ** 31),
  maxInputPixels: intIn(1, 2 ** 31),
  maxOutputWidth: intIn(1, 16383),
  maxOutputHeight: intIn(1, 16383),
  maxOutputPixels: intIn(1, 2 ** 28),
  concurrency: intIn(1, 256),
  workers: intIn(1, 64),
  queueSize: intIn(0, 100000),
  queueTimeoutMs: intIn(1, 600000),
  memoryBudgetMb: intIn(0, 1024 * 1024),
  readConcurrency: intIn(0, 1024),
  transformTimeoutSeconds: intIn(1, 3600),
  failureTtlSeconds: intIn(0, 86400),
  svg: oneOf(['on', 'off']),
  maxSvgBytes: intIn(1, 2 ** 31),
  maxFrames: intIn(1, 100000),
  memoryCacheMb: intIn(0, 65536),
  memoryCacheTtlSeconds: intIn(0, 86400 * 365),
  logLevel: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  delivery: oneOf(['stream', 'redirect']),
  publicBase: httpBase,
  revalidateSeconds: intIn(0, 86400 * 365),
  s3ForcePathStyle: onOff,
  s3TimeoutMs: intIn(100, 600000),
  s3MaxAttempts: intIn(1, 10),
  playground: oneOf(['on', 'off']),
  metrics: oneOf(['on', 'off']),
  metricsPort: intIn(0, 65535),
  drainTimeoutSeconds: intIn(0, 3600),
  logHitPercent: intIn(0, 100),
  signingKeys: v.string(),
  signingKeyFile: v.string(),
  presets: v.string(),
  allowedWidths: v.pipe(v.string(), v.check((t) => /^\s*(\d{1,5}\s*(,\s*\d{1,5}\s*)*)?$/.test(t), 'expected comma-separated whole numbers')),
  allowedHeights: v.pipe(v.string(), v.check((t) => /^\s*(\d{1,5}\s*(,\s*\d{1,5}\s*)*)?$/.test(t), 'expected comma-separated whole numbers')),
  allowedSegments: v.string(),
  presetsOnly: onOff,
  production: onOff,
  httpSourceHosts: v.string(),
  httpSourceAllowLoopback: onOff,
  httpSourceTimeoutMs: intIn(100, 600000),
  optimise: oneOf(['idle', 'off']),
  qualityTarget: fraction,
  provisionalCacheControl: nonEmpty,
  mezzanine: oneOf(['on', 'off']),
  mezzanineSize: intIn(256, 8192),
  mezzanineQuality: intIn(50, 100),
});

export type Config = v.InferOutput<typeof schema>;

function s3LocationProblem(location: string): string | undefined {
  if (!isS3Location(location)) return undefined;
  try {
    parseS3Location(location);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Rules across settings, as [setting, message] pairs. */
function crossChecks(c: Config): Array<[keyof Config, string]> {
  const problems: Array<[keyof Config, string]> = [];
  // Redirects point at stored derivatives: they need a public URL and a store to point into.
  if (c.delivery === 'redirect' && !c.publicBase) problems.push(['publicBase', 'required when --delivery is redirect']);
  if (c.delivery === 'redirect' && c.cache === 'none') problems.push(['cache', 'redirect delivery needs a derivative store, not "none"']);
  for (const key of ['source', 'cache'] as const) {
    const problem = s3LocationProblem(c[key]);
    if (problem) problems.push([key, problem]);
  }
  problems.push(...accessProblems(c));
  return problems;
}

export const DEFAULTS: Config = {
  source: './images',
  cache: './.cache/derivatives',
  port: 8080,
  host: '127.0.0.1',
  cacheControl: 'public, max-age=31536000, immutable',
  maxSourceBytes: 32 * 1024 * 1024,
  maxInputPixels: 50_000_000,
  maxOutputWidth: 8192,
  maxOutputHeight: 8192,
  maxOutputPixels: 40_000_000,
  concurrency: cores,
  workers: 1,
  // Deep: a page (or a CDN fanning one out) sends dozens of misses at once, and a browser never retries a
  // failed <img>. What bounds waiting is each waiter's deadline, not a count (docs/benchmarks.md).
  queueSize: 512,
  queueTimeoutMs: 10_000,
  // 0: from the machine (README, "Memory budget").
  memoryBudgetMb: 0,
  // 0: twice the transform slots.
  readConcurrency: 0,
  transformTimeoutSeconds: 20,
  // Long enough that a flood of one poisonous URL costs one transform per interval, short enough that a fixed
  // source is picked up without a purge.
  failureTtlSeconds: 30,
  svg: 'on',
  maxSvgBytes: 1024 * 1024,
  maxFrames: 200,
  memoryCacheMb: 64,
  memoryCacheTtlSeconds: 60,
  logLevel: 'info',
  delivery: 'stream',
  publicBase: '',
  revalidateSeconds: 0,
  s3ForcePathStyle: false,
  s3TimeoutMs: 5000,
  s3MaxAttempts: 3,
  // On for people trying resizer out; it lists the source store, so a production deployment turns it off.
  playground: 'on',
  metrics: 'on',
  // 0: /_/metrics on the serving port. Another port keeps metrics off a public listener.
  metricsPort: 0,
  // Kubernetes' default grace period is 30 s: 20 s of drain leaves room to exit before SIGKILL.
  drainTimeoutSeconds: 20,
  logHitPercent: 100,
  signingKeys: '',
  signingKeyFile: '',
  presets: '',
  allowedWidths: '',
  allowedHeights: '',
  allowedSegments: '',
  presetsOnly: false,
  production: false,
  httpSourceHosts: '',
  httpSourceAllowLoopback: false,
  httpSourceTimeoutMs: 10_000,
  // Misses are fast and provisional; idle slots make them small (README, "Auto quality").
  optimise: 'idle',
  // SSIM (luma, 8x8 windows) against the lossless render; measured on the corpus in docs/encoders.md.
  qualityTarget: 0.97,
  provisionalCacheControl: 'public, max-age=600',
  // One intermediate per source for later misses (issue 14): sizes and quality measured in docs/benchmarks.md, "srcset".
  mezzanine: 'on',
  mezzanineSize: 2048,
  mezzanineQuality: 95,
};

export const SETTINGS: Setting[] = [
  { key: 'source', flag: '--source', env: 'RESIZER_SOURCE', help: 'where source images are read: a folder (or s3://bucket/prefix)' },
  { key: 'cache', flag: '--cache', env: 'RESIZER_CACHE', help: 'where derivatives are stored: a folder, or "none" to not store them' },
  { key: 'port', flag: '--port', env: 'PORT', help: 'TCP port to listen on (0 picks a free one)' },
  { key: 'host', flag: '--host', env: 'HOST', help: 'address to listen on' },
  { key: 'cacheControl', flag: '--cache-control', env: 'RESIZER_CACHE_CONTROL', help: 'Cache-Control header of image responses' },
  { key: 'maxSourceBytes', flag: '--max-source-bytes', env: 'RESIZER_MAX_SOURCE_BYTES', help: 'largest source file read, in bytes (413 above)' },
  { key: 'maxInputPixels', flag: '--max-input-pixels', env: 'RESIZER_MAX_INPUT_PIXELS', help: 'largest source in pixels, all frames counted (422 above)' },
  { key: 'maxOutputWidth', flag: '--max-output-width', env: 'RESIZER_MAX_OUTPUT_WIDTH', help: 'largest output width in pixels' },
  { key: 'maxOutputHeight', flag: '--max-output-height', env: 'RESIZER_MAX_OUTPUT_HEIGHT', help: 'largest output height in pixels' },
  { key: 'maxOutputPixels', flag: '--max-output-pixels', env: 'RESIZER_MAX_OUTPUT_PIXELS', help: 'largest output area in pixels, all frames counted' },
  { key: 'workers', flag: '--workers', env: 'RESIZER_WORKERS', help: 'server processes sharing the port (node:cluster), each with its share of --concurrency, --queue-size and --memory-cache-mb' },
  { key: 'concurrency', flag: '--concurrency', env: 'RESIZER_CONCURRENCY', help: 'transforms run at once (default: CPU cores)' },
  { key: 'queueSize', flag: '--queue-size', env: 'RESIZER_QUEUE_SIZE', help: 'most transforms waiting; more get 503' },
  { key: 'queueTimeoutMs', flag: '--queue-timeout-ms', env: 'RESIZER_QUEUE_TIMEOUT_MS', help: 'deadline of a waiting request: refused (503) at arrival if its estimated wait is longer' },
  { key: 'memoryBudgetMb', flag: '--memory-budget-mb', env: 'RESIZER_MEMORY_BUDGET_MB', help: 'MiB that transforms in flight may use, by their predicted peak (0: 0.75 x cgroup limit or RAM, minus baseline and hot set)' },
  { key: 'readConcurrency', flag: '--read-concurrency', env: 'RESIZER_READ_CONCURRENCY', help: 'sources read (or read ahead) at once, outside the CPU slots (0: twice --concurrency)' },
  { key: 'transformTimeoutSeconds', flag: '--transform-timeout', env: 'RESIZER_TRANSFORM_TIMEOUT', help: 'seconds one transform (decode, resize, encode) may take (422 after)' },
  { key: 'failureTtlSeconds', flag: '--failure-ttl-seconds', env: 'RESIZER_FAILURE_TTL_SECONDS', help: 'seconds a failed derivative answers its error again without a new transform (0: off)' },
  { key: 'svg', flag: '--svg', env: 'RESIZER_SVG', help: 'on|off: rasterise SVG sources (off: 415)' },
  { key: 'maxSvgBytes', flag: '--max-svg-bytes', env: 'RESIZER_MAX_SVG_BYTES', help: 'largest SVG source, in bytes (413 above)' },
  { key: 'maxFrames', flag: '--max-frames', env: 'RESIZER_MAX_FRAMES', help: 'most frames of an animated output (422 above)' },
  { key: 'memoryCacheMb', flag: '--memory-cache-mb', env: 'RESIZER_MEMORY_CACHE_MB', help: 'in-memory hot set of derivatives, in MiB (0: off)' },
  { key: 'memoryCacheTtlSeconds', flag: '--memory-cache-ttl', env: 'RESIZER_MEMORY_CACHE_TTL', help: 'seconds a derivative stays in the hot set' },
  { key: 'logLevel', flag: '--log-level', env: 'RESIZER_LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent' },
  { key: 'delivery', flag: '--delivery', env: 'RESIZER_DELIVERY', help: 'stream (send the bytes) or redirect (302 to the stored derivative under --public-base)' },
  { key: 'publicBase', flag: '--public-base', env: 'RESIZER_PUBLIC_BASE', help: 'public URL of the derivative store, e.g. https://img-resized.s3.amazonaws.com (redirect delivery)' },
  { key: 'revalidateSeconds', flag: '--revalidate-seconds', env: 'RESIZER_REVALIDATE_SECONDS', help: 'check a derivative older than this against its source ETag and remake it if the source changed (0: never)' },
  { key: 's3ForcePathStyle', flag: '--s3-force-path-style', env: 'RESIZER_S3_FORCE_PATH_STYLE', help: 'path-style S3 URLs (MinIO, Ceph, emulators)', boolean: true },
  { key: 's3TimeoutMs', flag: '--s3-timeout-ms', env: 'RESIZER_S3_TIMEOUT_MS', help: 'deadline of one S3 operation, retries included (504 past it)' },
  { key: 's3MaxAttempts', flag: '--s3-max-attempts', env: 'RESIZER_S3_MAX_ATTEMPTS', help: 'attempts per S3 operation, with backoff between them' },
  { key: 'optimise', flag: '--optimise', env: 'RESIZER_OPTIMISE', help: 'idle|off: store misses as provisional and re-encode them at auto quality when transform slots are idle (off: misses are final)' },
  { key: 'qualityTarget', flag: '--quality-target', env: 'RESIZER_QUALITY_TARGET', help: 'SSIM the auto quality search must reach when the URL names no qN (0.5-1)' },
  { key: 'provisionalCacheControl', flag: '--provisional-cache-control', env: 'RESIZER_PROVISIONAL_CACHE_CONTROL', help: 'Cache-Control of provisional derivatives, until their re-encode is done' },
  { key: 'mezzanine', flag: '--mezzanine', env: 'RESIZER_MEZZANINE', help: 'on|off: keep one intermediate per source in the derivative store (under _/mezzanine/) and make later, smaller misses from it instead of the source' },
  { key: 'mezzanineSize', flag: '--mezzanine-size', env: 'RESIZER_MEZZANINE_SIZE', help: 'long side of the intermediate in pixels; outputs up to half of it are made from it' },
  { key: 'mezzanineQuality', flag: '--mezzanine-quality', env: 'RESIZER_MEZZANINE_QUALITY', help: 'JPEG quality of the intermediate (4:4:4 chroma)' },
  { key: 'metrics', flag: '--metrics', env: 'RESIZER_METRICS', help: 'on|off: Prometheus metrics at /_/metrics' },
  { key: 'metricsPort', flag: '--metrics-port', env: 'RESIZER_METRICS_PORT', help: 'serve /metrics (and /_/metrics) on this port of --host instead of the serving port (0: the serving port)' },
  { key: 'drainTimeoutSeconds', flag: '--drain-timeout', env: 'RESIZER_DRAIN_TIMEOUT', help: 'seconds requests in flight and queued may take to finish after SIGTERM/SIGINT' },
  { key: 'logHitPercent', flag: '--log-hit-percent', env: 'RESIZER_LOG_HIT_PERCENT', help: 'percentage of cache hits written to the access log (misses and errors always are)' },
  { key: 'playground', flag: '--playground', env: 'RESIZER_PLAYGROUND', help: 'on|off: the page at /_/playground to try options on, and the source listing at /_/sources it uses' },
  { key: 'signingKeys', flag: '--signing-key', env: 'RESIZER_SIGNING_KEYS', help: 'HMAC key for signed URLs, 16+ characters; repeat (or comma-separate) for rotation: the first signs, all verify', repeatable: ',' },
  { key: 'signingKeyFile', flag: '--signing-key-file', env: 'RESIZER_SIGNING_KEY_FILE', help: 'file of signing keys, one a line (added after --signing-key)' },
  { key: 'presets', flag: '--preset', env: 'RESIZER_PRESETS', help: 'named transform, e.g. thumb=150x150,cover,webp; repeat (or ;-separate) for more', repeatable: ';' },
  { key: 'allowedWidths', flag: '--allowed-widths', env: 'RESIZER_ALLOWED_WIDTHS', help: 'widths unsigned URLs may ask for, comma-separated (with fit, format and quality)' },
  { key: 'allowedHeights', flag: '--allowed-heights', env: 'RESIZER_ALLOWED_HEIGHTS', help: 'heights unsigned URLs may ask for, comma-separated' },
  { key: 'allowedSegments', flag: '--allowed-segments', env: 'RESIZER_ALLOWED_SEGMENTS', help: 'whole option segments unsigned URLs may ask for, ;-separated', repeatable: ';' },
  { key: 'presetsOnly', flag: '--presets-only', env: 'RESIZER_PRESETS_ONLY', help: 'unsigned URLs must name a preset', boolean: true },
  { key: 'httpSourceHosts', flag: '--http-source-hosts', env: 'RESIZER_HTTP_SOURCE_HOSTS', help: 'more hosts an http(s) --source may read from or redirect to, comma-separated (its own host always)' },
  { key: 'httpSourceAllowLoopback', flag: '--http-source-allow-loopback', env: 'RESIZER_HTTP_SOURCE_ALLOW_LOOPBACK', help: 'let the http(s) --source host resolve to loopback (local development and tests only)', boolean: true },
  { key: 'httpSourceTimeoutMs', flag: '--http-source-timeout-ms', env: 'RESIZER_HTTP_SOURCE_TIMEOUT_MS', help: 'deadline of one read from an http(s) --source, redirects included (504 past it)' },
  { key: 'production', flag: '--production', env: 'RESIZER_PRODUCTION', help: 'refuse to start without a signing key, presets-only mode or an allowlist, and turn the playground off (also NODE_ENV=production)', boolean: true },
];

export class ConfigError extends Error {}

/**
 * Builds the config: defaults, then env, then flags. Unknown RESIZER_* variables are refused so a typo
 * does not silently fall back to a default.
 */
export function loadConfig(
  flags: Partial<Record<keyof Config, string | number>>,
  env: NodeJS.ProcessEnv = process.env,
  /** RESIZER_* variables that a caller reads itself (the S3-event handler's), so they are not typos here. */
  ownEnv: readonly string[] = [],
): Config {
  const raw: Record<string, unknown> = { ...DEFAULTS };
  const origin: Record<string, string> = {};
  for (const s of SETTINGS) {
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') { raw[s.key] = fromEnv; origin[s.key] = s.env; }
    const fromFlag = flags[s.key];
    if (fromFlag !== undefined) { raw[s.key] = fromFlag; origin[s.key] = s.flag; }
  }
  const known = new Set([...SETTINGS.map((s) => s.env), ...ownEnv]);
  const stray = Object.keys(env).filter((k) => k.startsWith('RESIZER_') && !known.has(k));
  if (stray.length) throw new ConfigError(`Unknown variable ${stray.join(', ')} (see resizer --help)`);

  // NODE_ENV=production turns the production profile on as --production does (a flag set to false wins).
  if (env.NODE_ENV === 'production' && origin.production === undefined) { raw.production = true; origin.production = 'NODE_ENV'; }
  const parsed = v.safeParse(schema, raw);
  const problems: Array<[string, string]> = parsed.success
    ? crossChecks(parsed.output)
    : parsed.issues.map((issue) => [String(issue.path?.[0]?.key), issue.message]);
  if (problems.length) {
    const lines = problems.map(([key, message]) => {
      const setting = SETTINGS.find((s) => s.key === key);
      const name = origin[key] ?? (setting ? `${setting.flag} / ${setting.env}` : key);
      return `Invalid ${name}: ${message} (received ${JSON.stringify(raw[key])})`;
    });
    throw new ConfigError(lines.join('\n'));
  }
  return parsed.output as Config;
}

