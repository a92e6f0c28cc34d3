/**
 * npm run soak: minutes of mixed traffic against the real server process, sampling its memory, event-loop lag,
 * latency and errors every few seconds; asserts that RSS plateaus and writes docs/soak.md and docs/soak.svg.
 *
 * Options: --minutes M (default 5), --rate R (requests/s offered, default 100), --every S (sample period,
 * default 5), --no-doc (print only). The in-test version (test/e2e/soak.test.ts) runs the same for under a minute.
 *
 * Traffic: a catalogue of popular derivatives (sources x common sizes) asked for by a Zipf law, so most requests
 * are hits; a share of misses over thousands of distinct sizes, formats and sources; a few hostile files (a
 * decompression bomb, truncated images, SVGs with external references) that must be refused, never crash it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stackedChart } from './lib/svg-chart.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'test/fixtures');

const SOURCE_FILES = ['png/dice.png', 'png/rgba.png', 'progressive/flower.png.im_q85_420.jpg', 'progressive/flower.png.im_q85_420_progr.jpg',
  'webp/1.webp', 'anim/cogs.gif', 'anim/big-height.webp', 'png/icc-profile.png'];
const HOSTILE = ['bombs/bug793470-crasher.png', 'broken/truncated_jpeg.jpg', 'broken/premature-end.png', 'svg-malicious/xxe.svg', 'svg-malicious/external-refs.svg'];
const COMMON_WIDTHS = [100, 200, 320, 480, 640, 800];

export interface SoakOptions {
  seconds: number;
  /** Requests per second offered (open loop, so a slow server shows as latency, not as less load). */
  rate: number;
  sampleEveryMs: number;
  sources?: number;
  /** Share of requests that are fresh misses (new sizes); the rest follow the Zipf catalogue. */
  missShare?: number;
  hostileShare?: number;
  serverArgs?: string[];
  /** Of mean RSS, the trend over the last third may move it (plateauOf). */
  tolerance?: number;
  log?: (line: string) => void;
}

export interface SoakSample {
  t: number;
  rssMiB: number;
  lagP99Ms: number;
  p99Ms: number;
  requests: number;
  hits: number;
  errors: number;
  refused: number;
}

export interface Plateau {
  /** Least-squares slope of RSS over the last third, MiB per minute. */
  slopeMiBPerMin: number;
  /** That slope over the last third's span: how much RSS grew in it by the trend. */
  driftMiB: number;
  /** Spread of RSS around the trend in the last third (1.4826 × the median absolute deviation: a standard deviation robust to peaks). */
  noiseMiB: number;
  ok: boolean;
}

export interface SoakResult {
  samples: SoakSample[];
  plateau: Plateau;
  totals: { requests: number; hits: number; misses: number; hostile: number; hostileRefused: number; errors: number; refused: number; p99Ms: number };
  statusCounts: Record<string, number>;
}

/**
 * RSS is flat when the trend over the last third moves it less than 3x the noise around it, or than `tolerance`
 * of it (2 %; a run of under a minute passes more, since one glibc arena step is a large part of 18 s).
 * Both are robust to a peak: the trend is Siegel's repeated median of the slopes between samples, the noise the
 * median absolute deviation around it. A leak raises every sample alike and moves both; a least-squares line was
 * tilted as much by two high samples as the run ended (a CI run: 147 MiB for 14 s, then 173 and 169) as by a leak.
 */
export function plateauOf(samples: SoakSample[], tolerance = 0.02): Plateau {
  const tail = samples.slice(Math.floor((samples.length * 2) / 3));
  const n = tail.length;
  const slope = n >= 2 ? median(tail.map((a, i) => median(tail.filter((_, j) => j !== i && tail[j]!.t !== a.t).map((b) => (b.rssMiB - a.rssMiB) / (b.t - a.t))))) : 0;
  const level = median(tail.map((p) => p.rssMiB - slope * p.t));
  const noise = 1.4826 * median(tail.map((p) => Math.abs(p.rssMiB - (level + slope * p.t))));
  const span = n ? tail[n - 1]!.t - tail[0]!.t : 0;
  const drift = slope * span;
  const my = median(tail.map((p) => p.rssMiB));
  return { slopeMiBPerMin: slope * 60, driftMiB: drift, noiseMiB: noise, ok: n >= 3 && drift <= Math.max(3 * noise, tolerance * my) };
}

function median(values: number[]): number {
  if (!values.length) return 0;
  const v = [...values].sort((x, y) => x - y);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Zipf sampler over ranks 0..n-1 (s = 1): a few derivatives are most of the traffic, as on a real site. */
function zipf(n: number, s = 1): () => number {
  const cdf: number[] = [];
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf.push((sum += 1 / k ** s));
  return () => {
    const u = Math.random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function startServer(sourceDir: string, cacheDir: string, args: string[]): Promise<{ url: string; pid: number; child: ChildProcess }> {
  // The installed launcher: the malloc settings a deployment has (bin/resizer).
  const child = spawn(join(ROOT, 'bin/resizer'), ['serve', '--source', sourceDir, '--cache', cacheDir, '--port', '0', '--playground', 'off', ...args], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RESIZER_LOG_LEVEL: undefined },
  });
  // Logs at info, as deployed (the access log, hits sampled at 10 %): the listening line gives URL and pid.
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 20_000);
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    lines.on('line', (line) => {
      const m = /"pid":(\d+).*listening on (http:\/\/[^"]+)"/.exec(line);
      if (m) { clearTimeout(timer); resolve({ url: m[2]!, pid: Number(m[1]), child }); }
    });
  });
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => undefined);
  const work = mkdtempSync(join(tmpdir(), 'resizer-soak-'));
  const sourceDir = join(work, 'sources');
  const nSources = o.sources ?? 200;
  const names: string[] = [];
  for (let i = 0; i < nSources; i++) {
    const file = SOURCE_FILES[i % SOURCE_FILES.length]!;
    const name = `s${String(i).padStart(4, '0')}${file.slice(file.lastIndexOf('.'))}`;
    mkdirSync(join(sourceDir, `d${i % 10}`), { recursive: true });
    copyFileSync(join(FIXTURES, file), join(sourceDir, `d${i % 10}`, name));
    names.push(`d${i % 10}/${name}`);
  }
  mkdirSync(join(sourceDir, 'hostile'));
  for (const h of HOSTILE) copyFileSync(join(FIXTURES, h), join(sourceDir, 'hostile', h.replace(/\//g, '-')));
  // The catalogue: every source at the common widths, most popular first in a shuffled order.
  const catalogue = names.flatMap((n) => COMMON_WIDTHS.map((w) => `/${w}x/${n}`)).sort(() => Math.random() - 0.5);
  const pick = zipf(catalogue.length, 1.1);
  const srv = await startServer(sourceDir, join(work, 'cache'), ['--log-hit-percent', '10', ...(o.serverArgs ?? [])]);
  log(`soak: ${o.seconds} s at ${o.rate} req/s against ${srv.url} (pid ${srv.pid}), ${nSources} sources, ${catalogue.length} popular derivatives`);

  const statusCounts: Record<string, number> = {};
  let window = { latencies: [] as number[], requests: 0, hits: 0, errors: 0, refused: 0 };
  const totals = { requests: 0, hits: 0, misses: 0, hostile: 0, hostileRefused: 0, errors: 0, refused: 0, p99Ms: 0 };
  const all: number[] = [];
  const formats = ['', ',webp', ',jpeg', ',png', ',avif'];

  async function one(): Promise<void> {
    const r = Math.random();
    const hostile = r < (o.hostileShare ?? 0.005);
    const fresh = !hostile && r < (o.hostileShare ?? 0.005) + (o.missShare ?? 0.03);
    const path = hostile
      ? `/${16 + Math.floor(Math.random() * 300)}x/hostile/${HOSTILE[Math.floor(Math.random() * HOSTILE.length)]!.replace(/\//g, '-')}`
      : fresh
        // AVIF only at small sizes: its encoder is ~10x the others' cost.
        ? `/${16 + Math.floor(Math.random() * 1200)}x${formats[Math.floor(Math.random() * 4)]}/${names[Math.floor(Math.random() * names.length)]}`
        : catalogue[pick()]!;
    const started = performance.now();
    let status = 0;
    let cache: string | null = null;
    try {
      const res = await fetch(srv.url + path, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      status = res.status;
      cache = res.headers.get('x-cache');
    } catch {
      // No answer (status stays 0): counted as an error below.
    }
    const ms = performance.now() - started;
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    window.requests++;
    totals.requests++;
    window.latencies.push(ms);
    all.push(ms);
    if (cache === 'HIT') { window.hits++; totals.hits++; }
    if (cache === 'MISS') totals.misses++;
    if (hostile) {
      // Refused (4xx), or rendered harmlessly (an SVG whose external references are dropped): never a 5xx.
      totals.hostile++;
      if (status >= 400 && status < 500) totals.hostileRefused++;
      else if (status !== 200 && status !== 503) { window.errors++; totals.errors++; }
    } else if (status === 503) {
      window.refused++;
      totals.refused++;
    } else if (status !== 200) {
      window.errors++;
      totals.errors++;
    }
  }

  const samples: SoakSample[] = [];
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  const inFlight = new Set<Promise<void>>();
  const sampler = (async () => {
    while (performance.now() < end) {
      await sleep(Math.min(o.sampleEveryMs, Math.max(0, end - performance.now())));
      let lag = 0;
      try {
        const text = await (await fetch(`${srv.url}/_/metrics`)).text();
        lag = Number(/^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(text)?.[1] ?? 0) * 1000;
      } catch { /* counted as a missing point */ }
      const w = window;
      window = { latencies: [], requests: 0, hits: 0, errors: 0, refused: 0 };
      const s: SoakSample = {
        t: (performance.now() - t0) / 1000, rssMiB: rssMiB(srv.pid), lagP99Ms: lag, p99Ms: percentile(w.latencies, 99),
        requests: w.requests, hits: w.hits, errors: w.errors, refused: w.refused,
      };
      samples.push(s);
      log(`  t=${s.t.toFixed(0).padStart(4)} s  rss ${s.rssMiB.toFixed(0)} MiB  p99 ${s.p99Ms.toFixed(0)} ms  lag p99 ${s.lagP99Ms.toFixed(1)} ms  ${w.requests} req (${w.hits} hits)  errors ${w.errors}  503 ${w.refused}`);
    }
  })();
  // Open loop: requests are started on schedule whether or not earlier ones have finished (bounded at 256).
  const gap = 1000 / o.rate;
  for (let next = performance.now(); next < end; next += gap) {
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
    if (inFlight.size >= 256) continue;
    const p = one().finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  await sampler;
  srv.child.kill('SIGTERM');
  await new Promise((r) => srv.child.once('exit', r));
  rmSync(work, { recursive: true, force: true });
  totals.p99Ms = percentile(all, 99);
  return { samples, plateau: plateauOf(samples, o.tolerance), totals, statusCounts };
}

export function soakChart(r: SoakResult, title: string): string {
  const pts = (f: (s: SoakSample) => number) => r.samples.map((s) => [s.t, f(s)] as [number, number]);
  const tail = r.samples[Math.floor((r.samples.length * 2) / 3)]?.t ?? 0;
  const last = r.samples.at(-1)?.t ?? 0;
  return stackedChart([
    { title: 'Resident memory', unit: 'MiB', series: [{ name: 'RSS', color: '#1f77b4', points: pts((s) => s.rssMiB) }], shade: [tail, last] },
    { title: 'Latency p99 per sample', unit: 'ms', series: [{ name: 'p99', color: '#d62728', points: pts((s) => s.p99Ms) }] },
    { title: 'Event-loop lag p99', unit: 'ms', series: [{ name: 'lag', color: '#9467bd', points: pts((s) => s.lagP99Ms) }] },
    {
      title: 'Requests per sample', unit: 'count',
      series: [
        { name: 'requests', color: '#2ca02c', points: pts((s) => s.requests) },
        { name: 'errors', color: '#d62728', points: pts((s) => s.errors) },
        { name: '503', color: '#ff7f0e', points: pts((s) => s.refused) },
      ],
    },
  ], title);
}

function markdown(r: SoakResult, o: SoakOptions, svgName: string): string {
  const t = r.totals;
  const p = r.plateau;
  const first = r.samples[0];
  const last = r.samples.at(-1);
  return `# Soak test

\`npm run soak\` (\`bench/soak.ts\`) ran the built server (\`bin/resizer serve\`, default settings, \`--playground off --log-hit-percent 10\`)
for ${(o.seconds / 60).toFixed(1)} minutes at ${o.rate} requests/s offered (open loop) on this machine, and sampled it every
${o.sampleEveryMs / 1000} s. Written by the script on ${new Date().toISOString().slice(0, 10)}; the machine's load average at the end was
${loadavg().map((l) => l.toFixed(1)).join(', ')} (other work shares this 2-core machine: latencies are the machine's, not the server's alone).

Traffic: ${o.sources ?? 200} sources (${SOURCE_FILES.length} kinds of file: PNG, JPEG baseline and progressive, WebP, animated GIF), a
catalogue of ${(o.sources ?? 200) * COMMON_WIDTHS.length} popular derivatives asked for by a Zipf law (s = 1.1); ${((o.missShare ?? 0.03) * 100).toFixed(0)} % fresh misses
over random widths (16-1215 px) and formats, over all sources; ${((o.hostileShare ?? 0.005) * 100).toFixed(1)} % hostile files (a decompression bomb,
truncated PNG and JPEG, SVGs with external references and XXE).

![RSS, p99, event-loop lag and requests over time](${svgName})

| | |
|---|---|
| requests | ${t.requests} (${(t.hits / Math.max(1, t.requests) * 100).toFixed(1)} % hits, ${t.misses} misses) |
| hostile requests | ${t.hostile}: ${t.hostileRefused} refused with a 4xx, the rest rendered harmlessly (SVG external references dropped) |
| errors (5xx other than 503, or no answer) | ${t.errors} |
| 503 (admission refused under load) | ${t.refused} |
| p99 latency, whole run | ${t.p99Ms.toFixed(0)} ms |
| RSS first sample / last sample | ${first?.rssMiB.toFixed(0)} MiB / ${last?.rssMiB.toFixed(0)} MiB |
| RSS trend over the last third (shaded) | ${p.slopeMiBPerMin.toFixed(2)} MiB/min, ${p.driftMiB.toFixed(1)} MiB across it, noise ${p.noiseMiB.toFixed(1)} MiB |
| plateau (trend within max(3 × noise, 2 % of RSS)) | ${p.ok ? 'yes' : '**no**'} |
| statuses | ${Object.entries(r.statusCounts).map(([s, n]) => `${s === '0' ? 'no answer' : s}: ${n}`).join(', ')} |

The in-test version (\`test/e2e/soak.test.ts\`, part of \`npm test\`, run alone after the other suites) runs the same
traffic for 54 s at 80 requests/s with an 8 MiB hot set, and asserts no errors, no 5xx for a hostile file, and the
plateau with a 6 % tolerance (its last third is 18 s, where one glibc arena step is a large share).
`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, dflt: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const o: SoakOptions = { seconds: opt('minutes', 5) * 60, rate: opt('rate', 100), sampleEveryMs: opt('every', 5) * 1000, log: console.log };
  const r = await runSoak(o);
  console.log(JSON.stringify({ totals: r.totals, plateau: r.plateau, statuses: r.statusCounts }));
  if (!argv.includes('--no-doc')) {
    writeFileSync(join(ROOT, 'docs/soak.svg'), soakChart(r, `resizer soak: ${(o.seconds / 60).toFixed(1)} min at ${o.rate} req/s`));
    writeFileSync(join(ROOT, 'docs/soak.md'), markdown(r, o, 'soak.svg'));
    console.log('wrote docs/soak.md and docs/soak.svg');
  }
  if (!r.plateau.ok) {
    console.error(`RSS did not plateau: ${r.plateau.driftMiB.toFixed(1)} MiB over the last third (noise ${r.plateau.noiseMiB.toFixed(1)} MiB)`);
    process.exitCode = 1;
  }
  if (r.totals.errors > 0) {
    console.error(`${r.totals.errors} errors`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
