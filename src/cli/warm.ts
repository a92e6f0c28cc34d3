import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { App } from '../app.js';
import type { Config } from '../config/index.js';
import { ResizerError } from '../errors/index.js';
import { buildApp } from '../runtime.js';
import { httpSourceOptionsOf, openSourceStore, s3SettingsOf } from '../storage/open.js';
import type { SourceStore } from '../storage/types.js';
import { buildSegment, parseSegment } from '../url/segment.js';
import { encodeKey } from '../url/path.js';
import { configOrExitCode } from './load-config.js';
import { createProgress, type Progress } from './progress.js';

export interface WarmPlan {
  /** Canonical option segments, each made for every source. */
  segments: string[];
  prefix?: string;
  /** Requests in flight at once (the app's limiter still decides how many transform). */
  parallel: number;
  /** Tries per derivative while admission answers 503; past them it counts as a failure. */
  maxAttempts?: number;
}

export interface WarmFailure {
  key: string;
  segment: string;
  status: number;
  /** The error response's text: status and message, e.g. "422 VipsJpeg: premature end of JPEG image". */
  reason: string;
}

export interface WarmResult {
  /** Sources listed. */
  sources: number;
  made: number;
  /** Already in the derivative store: a rerun resumes where the last one stopped. */
  existing: number;
  failed: WarmFailure[];
  /** 503s from admission that were retried after their Retry-After. */
  retried: number;
}

const DEFAULT_ATTEMPTS = 10;

/**
 * Makes every derivative of the plan through the app itself, so warm-up is admitted, stored and keyed exactly as
 * a request would be: the derivative store's HIT means "already there", and nothing is read twice.
 */
export async function warm(app: App, sources: SourceStore, plan: WarmPlan, progress?: Progress): Promise<WarmResult> {
  const list = sources.list?.bind(sources);
  if (!list) throw new Error(`${sources.description} cannot list its sources`);
  const result: WarmResult = { sources: 0, made: 0, existing: 0, failed: [], retried: 0 };
  const state = { done: 0, total: 0, failed: 0 };
  const report = () => progress?.update({ ...state, total: Math.max(state.total, state.done) });

  // A second listing only counts, so the bar has a total (and an ETA) long before the work listing ends.
  const counting = (async () => {
    let n = 0;
    for await (const _ of list({ prefix: plan.prefix })) {
      n++;
      if (n % 1000 === 0) { state.total = n * plan.segments.length; report(); }
    }
    state.total = n * plan.segments.length;
    report();
  })();

  async function* jobs(): AsyncGenerator<{ key: string; segment: string }> {
    for await (const entry of list!({ prefix: plan.prefix })) {
      result.sources++;
      for (const segment of plan.segments) yield { key: entry.key, segment };
    }
  }

  async function one(key: string, segment: string): Promise<void> {
    const url = `/${segment}/${encodeKey(key)}`;
    for (let attempt = 1; ; attempt++) {
      const res = await app.handle({ method: 'GET', url, headers: {} });
      if (res.status === 503 && attempt < (plan.maxAttempts ?? DEFAULT_ATTEMPTS)) {
        result.retried++;
        await sleep(Number(res.headers['Retry-After'] ?? 1) * 1000);
        continue;
      }
      // 302: redirect delivery answers with the stored derivative's address.
      if (res.status === 200 || res.status === 302) {
        if (res.headers['X-Cache'] === 'HIT') result.existing++;
        else result.made++;
      } else {
        result.failed.push({ key, segment, status: res.status, reason: String(res.body ?? '').trim() });
        state.failed++;
      }
      return;
    }
  }

  // One shared iterator drained by `parallel` workers: bounded work in flight and a listing read only as fast as
  // it is used (a pool library such as p-map would keep every result of a million keys).
  const iterator = jobs();
  const worker = async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      await one(next.value.key, next.value.segment);
      state.done++;
      report();
    }
  };
  await Promise.all([counting, ...Array.from({ length: Math.max(1, plan.parallel) }, worker)]);
  return result;
}

/** `--size` takes sizes only; `--options` any segment. Both become canonical segments, checked before any work. */
export function planSegments(sizes: string[], options: string[], config: Config): string[] {
  const limits = { maxOutputWidth: config.maxOutputWidth, maxOutputHeight: config.maxOutputHeight };
  const segments = new Set<string>();
  for (const size of sizes) {
    if (!/^\d*x\d*$/.test(size) || size === 'x') throw new WarmUsageError(`Invalid --size: expected WxH, Wx or xH (e.g. 300x200) but received ${JSON.stringify(size)}`);
  }
  for (const [flag, values] of [['--size', sizes], ['--options', options]] as const) {
    for (const value of values) {
      try {
        const spec = parseSegment(value, limits);
        // `auto` depends on each browser's Accept header: there is no one derivative to make ahead of time.
        if (spec.format === 'auto') throw new WarmUsageError(`Invalid ${flag}: "auto" cannot be warmed, name the formats (webp, avif, ...) instead`);
        segments.add(buildSegment(spec));
      } catch (err) {
        if (err instanceof WarmUsageError) throw err;
        if (err instanceof ResizerError) throw new WarmUsageError(`Invalid ${flag} ${JSON.stringify(value)}: ${err.message}`);
        throw err;
      }
    }
  }
  if (segments.size === 0) throw new WarmUsageError('Nothing to make: give --size WxH or --options <segment> (see docs/url-api.md)');
  return [...segments];
}

class WarmUsageError extends Error {}

export interface WarmArgs {
  size?: string[];
  options?: string[];
  prefix?: string;
}

/** `resizer warm`: exit 0 when every derivative exists afterwards, 1 when some failed, 2 for bad usage. */
export async function warmCommand(args: WarmArgs, flags: Partial<Record<keyof Config, string>>): Promise<number> {
  const loaded = configOrExitCode(flags);
  if (typeof loaded === 'number') return loaded;
  // The hot set only helps a server that answers the same URL again; a batch makes each derivative once.
  const config: Config = { ...loaded, memoryCacheMb: 0 };
  if (config.cache === 'none') {
    console.error('resizer: --cache / RESIZER_CACHE is "none": there is nowhere to keep warmed derivatives');
    return 2;
  }
  let segments: string[];
  try {
    segments = planSegments(args.size ?? [], args.options ?? [], config);
  } catch (err) {
    if (!(err instanceof WarmUsageError)) throw err;
    console.error(`resizer: ${err.message}`);
    return 2;
  }
  const sources = await openSourceStore(config.source, s3SettingsOf(config), httpSourceOptionsOf(config));
  // The operator's own tool: URL signing and size rules are for the public, not for warm-up.
  const open: Config = { ...config, signingKeys: '', signingKeyFile: '', presetsOnly: false, allowedWidths: '', allowedHeights: '', allowedSegments: '' };
  // Logs go to stderr with the progress; stdout keeps the summary alone.
  const app = await buildApp(open, pino({ level: config.logLevel }, pino.destination(2)), { sources }, { accessLog: false });
  const progress = createProgress(process.stderr, { label: 'warm' });
  const started = Date.now();
  let result: WarmResult;
  try {
    result = await warm(app, sources, { segments, prefix: args.prefix, parallel: config.concurrency }, progress);
  } catch (err) {
    progress.stop();
    if (!(err instanceof ResizerError)) throw err;
    console.error(`resizer: warm stopped: ${err.message}`);
    return 1;
  }
  progress.stop();
  // What warm made provisional stays pending in the store, for a server's idle time (README, "Auto quality").
  await app.optimiser?.close();
  for (const f of result.failed) console.error(`failed: ${f.key} (${f.segment}): ${f.reason}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`warm: ${result.sources} source(s) x ${segments.length} option set(s) [${segments.join(' ')}]: `
    + `${result.made} made, ${result.existing} already there, ${result.failed.length} failed`
    + `${result.retried ? `, ${result.retried} retried after 503` : ''} in ${seconds}s`);
  return result.failed.length ? 1 : 0;
}
