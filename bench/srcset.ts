/**
 * The srcset workload (issue 14): per source, widths 320, 480, 640, 960, 1280 and 1920 in WebP, requested in a
 * random order across many sources, every request a cold miss. Contenders, each alone in a fresh process:
 *
 * - `ours`: resizer's app (buildApp, in process, no HTTP) over a folder of sources and a fresh derivative folder,
 *   with the mezzanine on (the default);
 * - `ours-direct`: the same with `--mezzanine off`, i.e. resizer before issue 14 ("today's");
 * - `bare`: the bare sharp loop decoding the source for every request, with the server's encoder settings
 *   (bench/lib/encoders.ts), the source bytes in memory.
 *
 * Reported per cell: throughput (requests/s over the whole list), p50/p99 latency, peak RSS of the process
 * (its maxRSS, the module baseline included), bytes read from the source store. resizer's cells run with the
 * launcher's malloc settings (MALLOC_ARENA_MAX=2, as bin/resizer sets them).
 *
 *   node --import tsx bench/srcset.ts [--sources N] [--c 2,8] [--mezzanine-size PX] [--only kleiber,seeding]
 *   npm run bench -- --only srcset     (the same, from the main harness)
 */
import { fork } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { summarize } from './lib/stats.js';
import { encoders } from './lib/encoders.js';
import { SOURCES } from './workloads.js';

export const SRCSET_WIDTHS = [320, 480, 640, 960, 1280, 1920] as const;
type Contender = 'ours' | 'ours-direct' | 'bare';

export interface SrcsetCell {
  source: string;
  contender: Contender;
  concurrency: number;
  requests: number;
  seconds: number;
  perSec: number;
  p50: number;
  p99: number;
  peakRssBytes: number;
  sourceBytesRead: number;
  mezzanines: number;
  fromMezzanine: number;
  errors: number;
}

interface CellJob {
  source: keyof typeof SOURCES;
  contender: Contender;
  concurrency: number;
  sources: number;
  mezzanineSize: number;
  seed: number;
}

/** The same shuffled list for every contender: (copy, width) pairs, a seeded Fisher-Yates. */
export function requestList(sources: number, seed: number): Array<{ copy: number; width: number }> {
  const list = Array.from({ length: sources }, (_, copy) => SRCSET_WIDTHS.map((width) => ({ copy, width }))).flat();
  let s = seed >>> 0;
  const random = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

// ---------------------------------------------------------------- one cell, in a child process
async function runCell(job: CellJob): Promise<SrcsetCell> {
  const file = SOURCES[job.source];
  const list = requestList(job.sources, job.seed);
  const latencies: number[] = [];
  let errors = 0;
  let bytesRead = 0;
  let doOne: (copy: number, width: number) => Promise<void>;
  let stats = () => ({ mezzanines: 0, fromMezzanine: 0 });
  const dirs: string[] = [];
  if (job.contender === 'bare') {
    sharp.cache(false);
    const buf = readFileSync(file);
    doOne = async (_copy, width) => {
      bytesRead += buf.length;
      await encoders.encode(sharp(buf).rotate().resize({ width, withoutEnlargement: true }), 'webp').toBuffer();
    };
  } else {
    const { pino } = await import('pino');
    const { DEFAULTS } = await import('../src/config/index.js');
    const { buildApp } = await import('../src/runtime.js');
    const { FsSourceStore } = await import('../src/storage/fs.js');
    const sourceDir = mkdtempSync(join(tmpdir(), 'srcset-src-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'srcset-cache-'));
    dirs.push(sourceDir, cacheDir);
    // Many sources: copies of one file under different keys (resizer keys them apart; nothing is shared).
    for (let i = 0; i < job.sources; i++) copyFileSync(file, join(sourceDir, `s${i}.jpg`));
    const fs = new FsSourceStore(sourceDir);
    const counting = {
      description: fs.description,
      head: (k: string) => fs.head(k),
      get: async (k: string, o: Parameters<typeof fs.get>[1]) => {
        const r = await fs.get(k, o);
        bytesRead += r.body.length;
        return r;
      },
      // As the server reads a large local source: libvips opens the file by its path and reads all of it.
      open: async (k: string, o: Parameters<typeof fs.get>[1]) => {
        const r = await fs.open(k, o);
        bytesRead += r.size;
        return r;
      },
    };
    const config = {
      ...DEFAULTS, source: sourceDir, cache: cacheDir, logLevel: 'silent' as const, metrics: 'off' as const, optimise: 'off' as const,
      playground: 'off' as const, mezzanine: job.contender === 'ours' ? 'on' as const : 'off' as const, mezzanineSize: job.mezzanineSize,
    };
    const app = await buildApp(config, pino({ level: 'silent' }), { sources: counting }, { accessLog: false, sweep: false });
    doOne = async (copy, width) => {
      const res = await app.handle({ method: 'GET', url: `/${width}x,webp/s${copy}.jpg`, headers: {} });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    };
    stats = () => ({ mezzanines: app.stats.mezzanines, fromMezzanine: app.stats.fromMezzanine });
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.concurrency }, async () => {
    while (next < list.length) {
      const { copy, width } = list[next++]!;
      const s = performance.now();
      try {
        await doOne(copy, width);
        latencies.push(performance.now() - s);
      } catch (err) {
        if (errors++ === 0) process.stderr.write(`[srcset] first error: ${String(err)}\n`);
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const { p50, p99 } = summarize(latencies);
  return {
    source: job.source, contender: job.contender, concurrency: job.concurrency, requests: latencies.length, seconds,
    perSec: latencies.length / seconds, p50, p99, peakRssBytes: process.resourceUsage().maxRSS * 1024, sourceBytesRead: bytesRead,
    ...stats(), errors,
  };
}

function inChild(job: CellJob): Promise<SrcsetCell> {
  return new Promise((res, rej) => {
    // resizer's cells run under the malloc settings its launcher sets (bin/resizer), as a server does; the bare loop
    // under the defaults, as in the main harness.
    const env = job.contender === 'bare' ? process.env : { MALLOC_MMAP_THRESHOLD_: '8388608', ...process.env, MALLOC_ARENA_MAX: '2' };
    const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(job)], { execArgv: ['--import', 'tsx'], env });
    child.on('message', (m: { ok: boolean; cell?: SrcsetCell; error?: string }) => (m.ok ? res(m.cell!) : rej(new Error(m.error))));
    child.on('exit', (code) => { if (code) rej(new Error(`srcset cell exited ${code}`)); });
  });
}

// ---------------------------------------------------------------- the workload
export interface SrcsetReport {
  date: string;
  machine: string;
  loadAvg: string;
  sources: number;
  mezzanineSize: number;
  cells: SrcsetCell[];
}

export async function runSrcset(opts: { sources?: number; concurrency?: number[]; mezzanineSize?: number; only?: string[]; log?: (s: string) => void } = {}): Promise<SrcsetReport> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`[srcset] ${s}\n`));
  const sources = opts.sources ?? 10;
  const mezzanineSize = opts.mezzanineSize ?? 2048;
  const cells: SrcsetCell[] = [];
  const plan: Array<[keyof typeof SOURCES, number, Contender[]]> = [
    // Speed: both photos at c = 2.
    ['kleiber.jpg', 2, ['bare', 'ours', 'ours-direct']],
    ['seeding.jpg', 2, ['bare', 'ours', 'ours-direct']],
    // Memory: the progressive photo at c = 8, against today's resizer.
    ['seeding.jpg', 8, ['ours-direct', 'ours', 'bare']],
  ];
  const loadStart = loadavg().map((l) => l.toFixed(2)).join(' ');
  for (const [source, c, contenders] of plan) {
    if (opts.only && !opts.only.some((o) => source.startsWith(o))) continue;
    if (opts.concurrency && !opts.concurrency.includes(c)) continue;
    for (const contender of contenders) {
      const cell = await inChild({ source, contender, concurrency: c, sources, mezzanineSize, seed: 14 });
      if (process.env.SRCSET_DEBUG) log(JSON.stringify(cell));
      log(`${source} c=${c} ${contender}: ${cell.perSec.toFixed(2)}/s p99 ${cell.p99.toFixed(0)} ms RSS ${(cell.peakRssBytes / 2 ** 20).toFixed(0)} MiB read ${(cell.sourceBytesRead / 2 ** 20).toFixed(1)} MiB (${cell.fromMezzanine}/${cell.requests} from ${cell.mezzanines} mezzanines, ${cell.errors} errors)`);
      cells.push(cell);
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${availableParallelism()} × ${cpu}; load average ${loadStart} at start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at end`,
    loadAvg: loadStart, sources, mezzanineSize, cells,
  };
}

/** The report's markdown section (docs/benchmarks.md, "srcset"). */
export function srcsetMarkdown(r: SrcsetReport): string {
  const find = (s: string, c: number, who: Contender) => r.cells.find((x) => x.source === s && x.concurrency === c && x.contender === who);
  const lines = [
    `Measured ${r.date} by \`node --import tsx bench/srcset.ts\` (one run; ${r.machine}). ${r.sources} sources × ${SRCSET_WIDTHS.length} widths (${SRCSET_WIDTHS.join(', ')}) as WebP, in one seeded random order, every request a cold miss; mezzanine ${r.mezzanineSize} px.`,
    '',
    '| source | c | contender | req/s | p50 ms | p99 ms | peak RSS MiB | source MiB read | from mezzanine | ours ÷ it |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const cell of r.cells) {
    const ours = find(cell.source, cell.concurrency, 'ours');
    const ratio = ours && cell.contender !== 'ours' ? `${(ours.perSec / cell.perSec).toFixed(2)}×` : '';
    lines.push(`| ${cell.source} | ${cell.concurrency} | ${cell.contender} | ${cell.perSec.toFixed(2)} | ${cell.p50.toFixed(0)} | ${cell.p99.toFixed(0)} | ${(cell.peakRssBytes / 2 ** 20).toFixed(0)} | ${(cell.sourceBytesRead / 2 ** 20).toFixed(1)} | ${cell.contender === 'bare' ? '' : `${cell.fromMezzanine}/${cell.requests}`} | ${ratio} |`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- entry points
const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  runCell(JSON.parse(argv[1]!) as CellJob).then(
    (cell) => { process.send?.({ ok: true, cell }); process.exit(0); },
    (err: unknown) => { process.send?.({ ok: false, error: err instanceof Error ? err.stack : String(err) }); process.exit(1); },
  );
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opt = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const report = await runSrcset({
    sources: opt('sources') ? Number(opt('sources')) : undefined,
    concurrency: opt('c')?.split(',').map(Number),
    mezzanineSize: opt('mezzanine-size') ? Number(opt('mezzanine-size')) : undefined,
    only: opt('only')?.split(','),
  });
  process.stdout.write(srcsetMarkdown(report) + '\n');
}
