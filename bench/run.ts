/**
 * npm run bench: our server against the limit (bare sharp), the peers (ipx, GraphicsMagick) and the hit
 * ceiling (nginx), same images, same sizes, same run; writes docs/benchmarks.md and bench/results/*.json.
 *
 * Options (also as env): --duration S (BENCH_DURATION, seconds per cell, default 5), --c 1,2,8,32,
 * --only id,id (workload ids), --contenders ours,bare,ipx,gm,nginx, --quick (1.5 s cells),
 * --ours-args "..." (BENCH_OURS_ARGS: extra flags for our server), --label NAME (results file name),
 * --no-doc (do not write docs/benchmarks.md), --no-build (use dist/ as it is), --no-cold (skip cold start),
 * --compare LABEL (add a before/after table against bench/results/LABEL.json).
 * The srcset workload (issue 14, bench/srcset.ts) runs after the others, or alone with --only srcset; its table is
 * printed and kept in bench/results/LABEL-srcset.json (docs/benchmarks.md, "srcset", is written by hand from it).
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { BareJob } from './bare-worker.js';
import type { LoadJob } from './lib/load-worker.js';
import { linkedSources } from './lib/links.js';
import { cpuModel, cpuMs, freePort, get, processTree, RssSampler, start, waitForHttp, type Child, type HttpResult } from './lib/proc.js';
import { percentile, type CellResult } from './lib/stats.js';
import { encoders, transform } from './lib/encoders.js';
import { ensureTools, versionOf, which } from './lib/tools.js';
import { runWrk } from './lib/wrk.js';
import { f1, renderReport, type Report, type Row } from './report.js';
import { WORKLOADS, type Workload } from './workloads.js';
import { runSrcset, srcsetMarkdown } from './srcset.js';
import { nginxFrontServer, nginxMainConfig } from '../deploy/nginx/config.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
function opt(name: string, env?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return env ? process.env[env] : undefined;
}
const flag = (name: string) => argv.includes(`--${name}`);
const QUICK = flag('quick');
const DURATION = Number(opt('duration', 'BENCH_DURATION') ?? (QUICK ? 1.5 : 5));
const CONC = (opt('c', 'BENCH_CONCURRENCY') ?? '1,2,8,32').split(',').map(Number);
const ONLY = opt('only', 'BENCH_ONLY')?.split(',');
const LABEL_EARLY = opt('label', 'BENCH_LABEL') ?? new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');

/** The srcset workload, in its own processes: its table on stdout, its numbers in bench/results. */
async function srcsetWorkload(): Promise<void> {
  const report = await runSrcset({ log: (s) => process.stderr.write(`[bench] srcset: ${s}\n`) });
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(join('bench/results', `${LABEL_EARLY}-srcset.json`), JSON.stringify(report, null, 1) + '\n');
  process.stdout.write(`\n## srcset\n\n${srcsetMarkdown(report)}\n`);
}
if (ONLY?.length === 1 && ONLY[0] === 'srcset') {
  await srcsetWorkload();
  process.exit(0);
}
const CONTENDERS = (opt('contenders', 'BENCH_CONTENDERS') ?? 'ours,ours-w2,bare,ipx,gm,nginx,nginx-front').split(',');
const OURS_ARGS = (opt('ours-args', 'BENCH_OURS_ARGS') ?? '').split(/\s+/).filter(Boolean);
const LABEL = opt('label', 'BENCH_LABEL') ?? new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
// Results are kept (bench/results/LABEL.json) for full runs and for runs given a --label.
const KEEP_RESULTS = !flag('no-doc') || opt('label', 'BENCH_LABEL') !== undefined;
const WRITE_DOC = !flag('no-doc');
const BUILD = !flag('no-build');
const COOLDOWN_MS = 300;
// Far past capacity, ours only (the peers would fork 256 gm processes or take gigabytes): served p99 against the
// queue deadline, and how fast the rest is refused. --no-overload skips it.
const OVERLOAD = !flag('no-overload');
const OVERLOAD_C = 256;
const OVERLOAD_S = QUICK ? 6 : 20;
/** The server's default queue deadline (src/config). */
const DEADLINE_MS = 10_000;

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const began = performance.now();

// ---------------------------------------------------------------- environment
const notes: string[] = [];
const toolNotes = ensureTools(log);
for (const n of Object.values(toolNotes)) notes.push(`Skipped: ${n}.`);
const hasNginx = !!which('nginx');
const hasGm = !!which('gm');
const hasWrk = !!which('wrk');

// Our server is built into a private copy (.cache/bench-build/{bin,dist}) so that a rebuild of dist/ by
// someone else during the run cannot change what is measured half-way.
const BUILD_DIR = join(ROOT, '.cache/bench-build');
// The installed `resizer` command: a shell launcher that sets glibc's malloc settings and execs node once.
let BIN = join(ROOT, 'bin/resizer');
if (!BUILD && existsSync(join(BUILD_DIR, 'bin/resizer'))) BIN = join(BUILD_DIR, 'bin/resizer');
if (BUILD) {
  log('building src/ into .cache/bench-build (tsc -p tsconfig.build.json)');
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(join(BUILD_DIR, 'bin'), { recursive: true });
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json',
    '--outDir', join(BUILD_DIR, 'dist'), '--tsBuildInfoFile', join(BUILD_DIR, 'tsbuildinfo'), '--sourceMap', 'false'], { encoding: 'utf8' });
  if (r.status === 0) {
    cpSync(join(ROOT, 'bin/resizer.js'), join(BUILD_DIR, 'bin/resizer.js'));
    cpSync(join(ROOT, 'bin/resizer'), join(BUILD_DIR, 'bin/resizer'));
    BIN = join(BUILD_DIR, 'bin/resizer');
  } else {
    if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
    log(`build failed; measuring the existing dist/:\n${r.stdout.slice(0, 2000)}`);
    notes.push('The build of src/ failed during this run; the existing dist/ was measured.');
  }
}

function pkgVersion(path: string): string {
  try { return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version; } catch { return 'n/a'; }
}
const ipxSharpPkg = existsSync('node_modules/ipx/node_modules/sharp/package.json') ? 'node_modules/ipx/node_modules/sharp/package.json' : 'node_modules/sharp/package.json';
const env = {
  date: new Date().toISOString(),
  cpus: availableParallelism(),
  cpuModel: cpuModel(),
  node: process.version,
  sharp: sharp.versions.sharp ?? pkgVersion('node_modules/sharp/package.json'),
  vips: sharp.versions.vips,
  ipx: pkgVersion('node_modules/ipx/package.json'),
  ipxSharp: pkgVersion(ipxSharpPkg),
  nginx: hasNginx ? versionOf('nginx', ['-v'], /nginx\/(\S+)/) : 'missing',
  gm: hasGm ? versionOf('gm', ['version'], /GraphicsMagick (\S+)/) : 'missing',
  wrk: hasWrk ? versionOf('wrk', ['-v'], /wrk (\S+)/) : 'missing',
  autocannon: pkgVersion('node_modules/autocannon/package.json'),
  loadAvgAtStart: loadavg().map((l) => l.toFixed(2)).join(' '),
  durationS: DURATION,
  concurrency: CONC,
  oursArgs: OURS_ARGS.join(' '),
  encoders: encoders.from,
};
log(`${env.cpus} × ${env.cpuModel}, node ${env.node}, sharp ${env.sharp}, libvips ${env.vips}, load ${env.loadAvgAtStart}`);

// ---------------------------------------------------------------- fixtures
const work = mkdtempSync(join(tmpdir(), 'resizer-bench-'));
const srcDir = join(work, 'src');
const cacheDir = join(work, 'cache');
mkdirSync(srcDir);
mkdirSync(cacheDir);
const LINKS = 512;
linkedSources(srcDir, LINKS);
const busted = (path: string, source: string) => Array.from({ length: LINKS }, (_, i) => path.replace(new RegExp(`/${source.replace('.', '\\.')}$`), `/b${i}/${source}`));
process.once('exit', () => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------- load generator process
function forkWorker(file: string): ChildProcess {
  return fork(join(ROOT, file), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
function ask<T>(child: ChildProcess, msg: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { ok: boolean; res?: T; error?: string }) => { cleanup(); if (m.ok) resolve(m.res as T); else reject(new Error(m.error)); };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`worker exited (${code})`)); };
    const cleanup = () => { child.off('message', onMsg); child.off('exit', onExit); };
    child.on('message', onMsg);
    child.once('exit', onExit);
    child.send(msg as object);
  });
}
const loader = forkWorker('bench/lib/load-worker.ts');

/** Waits until the contender's process tree is idle (work still in flight when a cell ended), at most 30 s. */
async function settle(pid: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const tree = processTree(pid);
    const before = tree.reduce((s, p) => s + cpuMs(p), 0);
    await sleep(200);
    const used = processTree(pid).reduce((s, p) => s + cpuMs(p), 0) - before;
    if ((used < 30 && processTree(pid).length <= tree.length) || performance.now() > deadline) return;
  }
}

const median = (a: number[]) => percentile([...a].sort((x, y) => x - y), 50);

async function measure(target: { pid: number; longLived: boolean }, load: () => Promise<CellResult>): Promise<CellResult> {
  await settle(target.pid);
  const sampler = new RssSampler(target.pid);
  const tree = processTree(target.pid);
  const cpu0 = tree.reduce((s, p) => s + cpuMs(p), 0);
  sampler.start();
  const t0 = performance.now();
  const res = await load();
  const secs = (performance.now() - t0) / 1000;
  res.peakRss = sampler.stop();
  res.peakRssLargest = sampler.largest;
  if (target.longLived) res.serverCpu ??= (processTree(target.pid).reduce((s, p) => s + cpuMs(p), 0) - cpu0) / 1000 / secs;
  await sleep(COOLDOWN_MS);
  // NaN does not survive IPC (it arrives as null).
  for (const k of ['p50', 'p99'] as const) if (typeof res[k] !== 'number') res[k] = NaN;
  return res;
}

function loadCell(url: string, c: number, okStatuses: number[], headers: Record<string, string>, useWrk: boolean, paths?: string[], durationS = DURATION): () => Promise<CellResult> {
  if (useWrk) return () => runWrk(work, url, c, durationS, headers, okStatuses);
  const job: LoadJob = { url, connections: c, durationS, headers, okStatuses, paths };
  return () => ask<CellResult>(loader, job);
}

// ---------------------------------------------------------------- contenders
interface Server { child: Child; base: string; pid: number }

async function startServer(name: string, cmd: string, args: string[], probe: string): Promise<Server> {
  const port = await freePort();
  const child = start(cmd, args.map((a) => a.replace('{port}', String(port))), { cwd: ROOT });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(base + probe, child);
  } catch (err) {
    await child.stop();
    throw new Error(`${name} did not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return { child, base, pid: child.pid };
}

function oursArgs(cache: 'none' | string): string[] {
  const base = ['serve', '--source', srcDir, '--port', '{port}', '--host', '127.0.0.1', '--log-level', 'warn'];
  const miss = cache === 'none' ? ['--cache', 'none', '--memory-cache-mb', '0'] : ['--cache', cache];
  return [...base, ...miss, ...OURS_ARGS];
}
const startOurs = (cache: string) => startServer('resizer', BIN, oursArgs(cache), '/_/healthz');

const rows: Row[] = [];
const outputs: Report['outputs'] = [];
const frontPairs: NonNullable<Report['frontPairs']> = [];
const PAIR_CELL_S = QUICK ? 1 : 2;
const unavailable: Report['unavailable'] = [];

async function verify(w: Workload, contender: string, url: string, headers: Record<string, string> = {}): Promise<boolean> {
  try {
    const r = await get(url, headers);
    if (r.status !== 200) {
      const why = `HTTP ${r.status}: ${r.body.toString('utf8').split('\n')[0]?.slice(0, 120)}`;
      unavailable.push({ workload: w.id, contender, why });
      log(`${w.id}/${contender}: unavailable (${why})`);
      return false;
    }
    const meta = await sharp(r.body).metadata();
    outputs.push({ workload: w.id, contender, bytes: r.body.length, width: meta.width ?? 0, height: meta.height ?? 0, format: meta.format ?? '?', ms: r.ms, cache: String(r.headers['x-cache'] ?? '') });
    return true;
  } catch (err) {
    unavailable.push({ workload: w.id, contender, why: err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err) });
    return false;
  }
}

/** One request as a cell will make it: throws unless its status is one the cell counts as success. */
async function expectStatus(url: string, headers: Record<string, string>, okStatuses: number[]): Promise<HttpResult> {
  const r = await get(url, headers);
  if (!okStatuses.includes(r.status)) {
    const text = String(r.headers['content-type'] ?? '').startsWith('text/') ? `: ${r.body.toString('utf8').split('\n')[0]?.slice(0, 120)}` : '';
    throw new Error(`HTTP ${r.status} where ${okStatuses.join('/')} was expected${text}`);
  }
  return r;
}

async function cells(w: Workload, contender: string, target: { pid: number; longLived: boolean }, make: (c: number) => () => Promise<CellResult>, precheck?: () => Promise<unknown>, concs = CONC): Promise<void> {
  for (const c of concs) {
    try {
      // Before each cell, not measured: the request the cell repeats still gets the expected status.
      if (precheck) await precheck();
      const res = await measure(target, make(c));
      rows.push({ workload: w.id, contender, c, ...res });
      log(`${w.id.padEnd(12)} ${contender.padEnd(6)} c=${String(c).padEnd(2)} ${f1(res.okPerSec).padStart(8)} ok/s  p50 ${f1(res.p50)} p99 ${f1(res.p99)} ms  other ${f1(res.otherPerSec)}/s (p99 ${f1(res.otherP99)})  rss ${f1((res.peakRss ?? 0) / 2 ** 20)} MB  server cpu ${f1((res.serverCpu ?? 0) * 100)}%  loadgen cpu ${f1((res.loadGenCpu ?? 0) * 100)}%`);
    } catch (err) {
      log(`${w.id}/${contender} c=${c} failed: ${err instanceof Error ? err.message : String(err)}`);
      unavailable.push({ workload: w.id, contender, why: `c=${c}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
    }
  }
}

async function withServer(s: Promise<Server>, body: (srv: Server) => Promise<void>): Promise<void> {
  const srv = await s;
  try { await body(srv); } finally { await srv.child.stop(); }
}

async function missWorkload(w: Workload): Promise<void> {
  const http = (contender: string, path: string, srv: Server) => async () => {
    if (!(await verify(w, contender, srv.base + path))) return;
    // Warm-up: lazy initialisation, JIT; not measured.
    for (let i = 0; i < 2; i++) await get(srv.base + path);
    // GraphicsMagick at c ≥ 8 needs longer than a cell for one round of requests: give it twice the time,
    // and end the `gm convert` processes of the requests the load generator abandoned at the end.
    // The overload cell runs past the queue deadline, so that waits up to the deadline are in its window.
    const secs = (c: number) => (c >= OVERLOAD_C ? OVERLOAD_S : contender === 'gm' && c >= 8 ? DURATION * 2 : DURATION);
    const concs = contender === 'ours' && OVERLOAD ? [...CONC, OVERLOAD_C] : CONC;
    await cells(w, contender, { pid: srv.pid, longLived: contender !== 'gm' }, (c) => async () => {
      const res = await loadCell(srv.base, c, [200], {}, false, busted(path, w.source), secs(c))();
      if (contender === 'gm') for (const pid of processTree(srv.pid).slice(1)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      return res;
    }, undefined, concs);
  };
  if (CONTENDERS.includes('ours')) {
    await withServer(startOurs('none'), (srv) => http('ours', w.ours, srv)());
  }
  if (CONTENDERS.includes('bare')) {
    const bare = forkWorker('bench/bare-worker.ts');
    try {
      const src = join(srcDir, w.source);
      const once = await ask<{ bytes: number; width: number; height: number }>(bare, { op: 'once', source: src, transform: w.transform });
      outputs.push({ workload: w.id, contender: 'bare', bytes: once.bytes, width: once.width, height: once.height, format: w.transform.format, ms: NaN, cache: '' });
      await cells(w, 'bare', { pid: bare.pid as number, longLived: false }, (c) => () => ask<CellResult>(bare, { op: 'run', job: { source: src, transform: w.transform, concurrency: c, durationS: DURATION } satisfies BareJob }));
    } finally {
      bare.kill();
    }
  }
  if (CONTENDERS.includes('ipx') && w.ipx) {
    const path = w.ipx;
    await withServer(startServer('ipx', process.execPath, ['--import', 'tsx', 'bench/peers/ipx-server.ts', '{port}', srcDir], '/'), (srv) => http('ipx', path, srv)());
  }
  if (CONTENDERS.includes('gm') && w.gm && hasGm) {
    const path = w.gm;
    await withServer(startServer('gm', process.execPath, ['--import', 'tsx', 'bench/peers/gm-server.ts', '{port}', srcDir], '/'), (srv) => http('gm', path, srv)());
  }
}

function findFile(dir: string, name: string): string | null {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    // Sidecars, typed links and pending-work markers are not the derivative.
    if (e.name === '.meta' || e.name === '.typed' || e.name === '_') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) { const f = findFile(p, name); if (f) return f; } else if (e.name === name) return p;
  }
  return null;
}

/** nginx running deploy/nginx/resizer.conf in front of our server: hits from the cache folder, misses proxied. */
async function startNginxFront(resizer: Server): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, 'nginx-front-'));
  const server = nginxFrontServer({ listen: `127.0.0.1:${port}`, cacheDir, resizer: new URL(resizer.base).host });
  return launchNginx(dir, port, server, '/_/healthz');
}

/** nginx with a server block, as many workers as cores (as nginx is usually run), everything under `dir`. */
async function launchNginx(dir: string, port: number, server: string, probe: string): Promise<Server> {
  writeFileSync(join(dir, 'nginx.conf'), nginxMainConfig(dir, server, 'auto'));
  const child = start('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')]);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(base + probe, child);
  return { child, base, pid: child.pid };
}

/** Waits until the derivative is final, i.e. linked for a file server (it may be provisional at first). */
async function untilFinal(base: string, path: string): Promise<boolean> {
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    const r = await get(base + path);
    if (r.status === 200 && r.headers['x-cache'] === undefined) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function startNginx(root: string): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(work, 'nginx-'));
  const server = `  sendfile on;
  tcp_nopush on;
  open_file_cache max=64 inactive=60s;
  types { image/jpeg jpg; image/webp webp; image/avif avif; }
  server { listen 127.0.0.1:${port}; root ${root}; }`;
  return launchNginx(dir, port, server, '/');
}

const okFor = (w: Workload) => (w.kind === 'revalidate' ? [304] : [200]);

/**
 * The first response of a hit or revalidation workload: its status must be the one the cells count as
 * success (else the workload is reported unavailable for that contender); `format` is the image format of
 * a 200's body, or 'not modified' for a 304.
 */
async function hitCheck(w: Workload, contender: string, url: string, headers: Record<string, string>): Promise<(HttpResult & { format: string }) | null> {
  try {
    const r = await expectStatus(url, headers, okFor(w));
    const format = r.status === 304 ? 'not modified' : (await sharp(r.body).metadata()).format ?? '?';
    return { ...r, format };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
    unavailable.push({ workload: w.id, contender, why });
    log(`${w.id}/${contender}: unavailable (${why})`);
    return null;
  }
}

async function hitWorkloads(ws: Workload[]): Promise<void> {
  if (!ws.length) return;
  const w0 = ws[0] as Workload;
  let nginxPath: string | null = null;
  // Ours as configured by default, then with --workers 2 (node:cluster) when the server has that flag.
  const variants: [string, string[]][] = [['ours', []]];
  if (CONTENDERS.includes('ours-w2') && spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' }).stdout.includes('--workers')) {
    variants.push(['ours-w2', ['--workers', '2']]);
  }
  for (const [name, extra] of variants) {
    if (!CONTENDERS.includes(name)) continue;
    await withServer(startServer('resizer', BIN, [...oursArgs(cacheDir), ...extra], '/_/healthz'), async (srv) => {
      const made = await get(srv.base + w0.ours);
      if (made.status !== 200) { unavailable.push({ workload: w0.id, contender: name, why: `HTTP ${made.status}` }); return; }
      // The miss is provisional: the idle re-encode replaces it (new bytes, new ETag) once the server is quiet.
      // The revalidation cells need the final ETag: wait for the final Cache-Control (the long one).
      await settle(srv.pid);
      let first = await get(srv.base + w0.ours);
      for (let i = 0; i < 240 && !String(first.headers['cache-control'] ?? '').includes('immutable'); i++) {
        await sleep(250);
        first = await get(srv.base + w0.ours);
      }
      const etag = String(first.headers.etag ?? '');
      for (const w of ws) {
        const headers: Record<string, string> = w.kind === 'revalidate' ? { 'If-None-Match': etag } : {};
        const url = srv.base + w.ours;
        const check = await hitCheck(w, name, url, headers);
        if (!check) continue;
        outputs.push({ workload: w.id, contender: name, bytes: check.body.length, width: 0, height: 0, format: check.format, ms: check.ms, cache: String(check.headers['x-cache'] ?? '') });
        await cells(w, name, { pid: srv.pid, longLived: true }, (c) => loadCell(url, c, okFor(w), headers, hasWrk), () => expectStatus(url, headers, okFor(w)));
      }
    });
  }
  if (CONTENDERS.includes('nginx-front') && hasNginx) await nginxFrontHits(ws);
  const file = findFile(cacheDir, w0.source);
  if (file) nginxPath = '/' + relative(cacheDir, file);
  if (CONTENDERS.includes('nginx') && hasNginx) {
    if (!nginxPath) {
      // Our server did not run: make the derivative file the way the bare loop does (same transform, the server's encoder).
      const bare = await transform(join(srcDir, w0.source), w0.transform);
      mkdirSync(join(cacheDir, 'static'), { recursive: true });
      writeFileSync(join(cacheDir, 'static', w0.source), bare.data);
      nginxPath = `/static/${w0.source}`;
    }
    const path = nginxPath;
    await withServer(startNginx(cacheDir), async (srv) => {
      const url = srv.base + path;
      const first = await get(url);
      if (first.status !== 200) { unavailable.push({ workload: w0.id, contender: 'nginx', why: `HTTP ${first.status}` }); return; }
      const etag = String(first.headers.etag ?? '');
      for (const w of ws) {
        const headers: Record<string, string> = w.kind === 'revalidate' ? { 'If-None-Match': etag } : {};
        const check = await hitCheck(w, 'nginx', url, headers);
        if (!check) continue;
        outputs.push({ workload: w.id, contender: 'nginx', bytes: check.body.length, width: 0, height: 0, format: check.format, ms: check.ms, cache: '' });
        await cells(w, 'nginx', { pid: srv.pid, longLived: true }, (c) => loadCell(url, c, okFor(w), headers, hasWrk), () => expectStatus(url, headers, okFor(w)));
      }
    });
  }
}

/** The hit workloads through nginx in front of our server, once the derivative is final and nginx serves it. */
async function nginxFrontHits(ws: Workload[]): Promise<void> {
  const hits = ws.filter((w) => w.kind === 'hit');
  const w0 = hits[0];
  if (!w0) return;
  await withServer(startOurs(cacheDir), (ours) => withServer(startNginxFront(ours), async (srv) => {
    const url = srv.base + w0.ours;
    if (!(await untilFinal(srv.base, w0.ours))) { unavailable.push({ workload: w0.id, contender: 'nginx-front', why: 'never served by nginx' }); return; }
    for (const w of hits) {
      const check = await hitCheck(w, 'nginx-front', srv.base + w.ours, {});
      if (!check) continue;
      outputs.push({ workload: w.id, contender: 'nginx-front', bytes: check.body.length, width: 0, height: 0, format: check.format, ms: check.ms, cache: 'nginx' });
      await cells(w, 'nginx-front', { pid: srv.pid, longLived: true }, (c) => loadCell(url, c, okFor(w), {}, hasWrk), () => expectStatus(url, {}, okFor(w)));
    }
    if (CONTENDERS.includes('nginx')) await withServer(startNginx(cacheDir), (stat) => frontStaticPairs({ url, pid: srv.pid }, { url: stat.base + w0.ours, pid: stat.pid }));
  }));
}

/**
 * The front against nginx serving the same file statically, in alternating short cells, round after round: the two
 * rows above are taken minutes apart, and on a shared machine a hit cell moves by ±30% in that time (what the
 * target in the report uses when present).
 */
async function frontStaticPairs(frontSide: { url: string; pid: number }, statSide: { url: string; pid: number }): Promise<void> {
  const [front, stat] = [frontSide.url, statSide.url];
  const treeCpu = (pid: number) => processTree(pid).reduce((sum, p) => sum + cpuMs(p), 0);
  const a = await get(front);
  const b = await get(stat);
  if (a.status !== 200 || b.status !== 200 || !a.body.equals(b.body)) {
    unavailable.push({ workload: 'hit', contender: 'nginx-front', why: 'front and static did not serve the same file: no paired rounds' });
    return;
  }
  const rounds = QUICK ? 2 : 4;
  for (const c of CONC.filter((x) => x >= 2)) {
    const r = { c, front: [] as number[], static: [] as number[], cpuUsPerHit: { front: 0, static: 0 } };
    const cpu = { front: 0, static: 0 };
    const hits = { front: 0, static: 0 };
    for (let i = 0; i < rounds; i++) {
      for (const who of i % 2 === 0 ? ['front', 'static'] as const : ['static', 'front'] as const) {
        const pid = who === 'front' ? frontSide.pid : statSide.pid;
        const c0 = treeCpu(pid);
        const cell = await loadCell(who === 'front' ? front : stat, c, [200], {}, hasWrk, undefined, PAIR_CELL_S)();
        cpu[who] += treeCpu(pid) - c0;
        hits[who] += cell.ok;
        r[who].push(cell.okPerSec);
      }
    }
    // nginx's own CPU per hit: what the shared cores move far less than throughput (docs/benchmarks.md, nginx front).
    r.cpuUsPerHit = { front: (cpu.front * 1000) / hits.front, static: (cpu.static * 1000) / hits.static };
    frontPairs.push(r);
    log(`nginx front vs static, c=${c}: ${r.front.map((f, i) => (f / (r.static[i] ?? NaN)).toFixed(2)).join(' ')}`);
  }
}

// ---------------------------------------------------------------- cold start
async function coldStart(): Promise<Report['coldStart']> {
  const runs = QUICK ? 2 : 5;
  const path = '/400x400/kleiber.jpg';
  const measureOnce = async (cache: string, expect: string): Promise<number> => {
    const port = await freePort();
    const t0 = performance.now();
    const child = start(BIN, oursArgs(cache).map((a) => a.replace('{port}', String(port))), { cwd: ROOT });
    try {
      for (;;) {
        try {
          const r = await get(`http://127.0.0.1:${port}${path}`, {}, 30_000);
          const ms = performance.now() - t0;
          if (r.status !== 200 || String(r.headers['x-cache']) !== expect) throw new Error(`cold start: HTTP ${r.status} X-Cache ${String(r.headers['x-cache'])}`);
          return ms;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw err;
          if (child.proc.exitCode !== null || performance.now() - t0 > 20_000) throw new Error(`server did not start\n${child.output()}`, { cause: err });
          await sleep(2);
        }
      }
    } finally {
      await child.stop();
    }
  };
  const miss: number[] = [];
  const hit: number[] = [];
  // The hit runs use a cache folder holding the derivative already (made by the first miss run).
  const warmCache = mkdtempSync(join(work, 'cold-'));
  for (let i = 0; i < runs; i++) {
    miss.push(await measureOnce('none', 'MISS'));
    if (i === 0) await measureOnce(warmCache, 'MISS');
    hit.push(await measureOnce(warmCache, 'HIT'));
  }
  // Node itself, for reference: process start to exit of `node -e 0`.
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    bare.push(performance.now() - t0);
  }
  return { path, runs, missMedian: median(miss), missMin: Math.min(...miss), hitMedian: median(hit), hitMin: Math.min(...hit), nodeMedian: median(bare) };
}

// AVIF against WebP, same size, one request at a time: whole request on our server, and the encode alone.
async function avifVsWebp(): Promise<Report['avif']> {
  const n = QUICK ? 3 : 8;
  const srv = await startOurs('none');
  const lat = { avif: [] as number[], webp: [] as number[] };
  try {
    for (let i = 0; i < n + 1; i++) {
      for (const f of ['avif', 'webp'] as const) {
        const r = await get(`${srv.base}/400x400,${f}/kleiber.jpg`);
        if (r.status !== 200) return { error: `/400x400,${f}/: HTTP ${r.status} ${r.body.toString().split('\n')[0]?.slice(0, 100)}` };
        if (i > 0) lat[f].push(r.ms);
      }
    }
  } finally {
    await srv.child.stop();
  }
  // Encode alone, from the already-resized pixels (decode excluded), with the server's encoder settings.
  const small = await sharp(join(srcDir, 'kleiber.jpg')).resize(400, 400, { fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
  const enc = { avif: [] as number[], webp: [] as number[] };
  for (let i = 0; i < n; i++) {
    for (const f of ['avif', 'webp'] as const) {
      const t0 = performance.now();
      const img = sharp(small.data, { raw: { width: small.info.width, height: small.info.height, channels: small.info.channels } });
      await encoders.encode(img, f).toBuffer();
      enc[f].push(performance.now() - t0);
    }
  }
  return { requestAvif: median(lat.avif), requestWebp: median(lat.webp), encodeAvif: median(enc.avif), encodeWebp: median(enc.webp), encoders: encoders.from };
}

// ---------------------------------------------------------------- a page of cold thumbnails
/**
 * What a browser does on a first visit: PAGE_IMAGES distinct cold thumbnails, each requested once over 6
 * connections, against our server with its default settings (a fresh disk cache).
 */
const PAGE_IMAGES = 24;
async function pageCell(): Promise<Report['page']> {
  const cache = mkdtempSync(join(work, 'page-'));
  const srv = await startServer('resizer', BIN, ['serve', '--source', srcDir, '--cache', cache, '--port', '{port}', '--host', '127.0.0.1', '--log-level', 'warn', ...OURS_ARGS], '/_/healthz');
  try {
    await settle(srv.pid);
    const photos = ['kleiber.jpg', 'seeding.jpg'];
    const paths = Array.from({ length: PAGE_IMAGES }, (_, i) => `/300x200,cover/b${i}/${photos[i % photos.length]}`);
    const sampler = new RssSampler(srv.pid);
    sampler.start();
    const statuses: Record<string, number> = {};
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 6 }, async () => {
      while (next < paths.length) {
        const r = await get(srv.base + paths[next++]!);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }));
    const lastMs = performance.now() - t0;
    return { images: PAGE_IMAGES, connections: 6, statuses, lastMs, peakRss: sampler.stop() };
  } finally {
    await srv.child.stop();
  }
}

// ---------------------------------------------------------------- main
const selected = WORKLOADS.filter((w) => !ONLY || ONLY.includes(w.id));
let coldStartResult: Report['coldStart'];
let pageResult: Report['page'];
let avifResult: Report['avif'];
try {
  if (CONTENDERS.includes('ours') && !flag('no-page')) {
    log('page of cold thumbnails');
    pageResult = await pageCell();
    log(`page: ${JSON.stringify(pageResult)}`);
  }
  for (const w of selected.filter((x) => x.kind === 'miss')) await missWorkload(w);
  await hitWorkloads(selected.filter((x) => x.kind !== 'miss'));
  if (CONTENDERS.includes('ours') && !flag('no-cold')) {
    log('cold start');
    coldStartResult = await coldStart();
    avifResult = await avifVsWebp();
  }
  if (!ONLY || ONLY.includes('srcset')) await srcsetWorkload();
} finally {
  loader.kill();
}

const report: Report = {
  env: { ...env, loadAvgAtEnd: loadavg().map((l) => l.toFixed(2)).join(' '), runSeconds: Math.round((performance.now() - began) / 1000), hasWrk },
  notes, rows, outputs, unavailable, coldStart: coldStartResult, avif: avifResult, page: pageResult, deadlineMs: DEADLINE_MS, frontPairs,
};
if (KEEP_RESULTS) {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(join('bench/results', `${LABEL}.json`), JSON.stringify(report, null, 1) + '\n');
}
// --compare LABEL: a before/after table of our rows against bench/results/LABEL.json.
const compare = opt('compare', 'BENCH_COMPARE');
const before = compare && existsSync(join('bench/results', `${compare}.json`))
  ? { report: JSON.parse(readFileSync(join('bench/results', `${compare}.json`), 'utf8')) as Report, label: compare }
  : undefined;
const { console: text, markdown } = renderReport(report, before);
process.stdout.write(text + '\n');
if (WRITE_DOC) {
  const docPath = 'docs/benchmarks.md';
  const MARK = '<!-- Everything above is written by `npm run bench`; everything below this line is kept. -->';
  const kept = existsSync(docPath) && readFileSync(docPath, 'utf8').includes(MARK) ? readFileSync(docPath, 'utf8').split(MARK)[1] ?? '\n' : '\n';
  writeFileSync(docPath, `${markdown}\n${MARK}${kept}`);
  log(`wrote ${docPath} and bench/results/${LABEL}.json (${statSync(docPath).size} bytes) in ${report.env.runSeconds} s`);
}
