/**
 * Miss path against the bare sharp loop on a shared machine: the two contenders alternate in short cells, round after
 * round, so that both see the same background load (a whole `npm run bench` runs them minutes apart, and another
 * process's test suite moves a cell by 2x). Same workloads, paths and load generator as bench/run.ts.
 * Prints every round and the ratio of the summed ok counts (ours / bare) per workload and concurrency.
 * Run: node --import tsx bench/miss-ab.ts [--only jpeg500,webp-cover] [--c 1,2] [--rounds 5] [--duration 3]
 *      [--ours-args "..."] (builds src/ into .cache/bench-build first, like bench/run.ts; --no-build skips it)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BareJob } from './bare-worker.js';
import type { LoadJob } from './lib/load-worker.js';
import { linkedSources } from './lib/links.js';
import { freePort, start, waitForHttp } from './lib/proc.js';
import type { CellResult } from './lib/stats.js';
import { WORKLOADS } from './workloads.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);
const argv = process.argv.slice(2);
const opt = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
const ONLY = (opt('only') ?? 'jpeg500,webp-cover,png-alpha').split(',');
const CONC = (opt('c') ?? '1,2').split(',').map(Number);
const ROUNDS = Number(opt('rounds') ?? 5);
const DURATION = Number(opt('duration') ?? 3);
const OURS_ARGS = (opt('ours-args') ?? '').split(/\s+/).filter(Boolean);
const BUILD_DIR = join(ROOT, '.cache/bench-build');
const log = (s: string) => process.stderr.write(`[miss-ab] ${s}\n`);

if (!argv.includes('--no-build')) {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(join(BUILD_DIR, 'bin'), { recursive: true });
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json',
    '--outDir', join(BUILD_DIR, 'dist'), '--tsBuildInfoFile', join(BUILD_DIR, 'tsbuildinfo'), '--sourceMap', 'false'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  cpSync(join(ROOT, 'bin/resizer.js'), join(BUILD_DIR, 'bin/resizer.js'));
  cpSync(join(ROOT, 'bin/resizer'), join(BUILD_DIR, 'bin/resizer'));
}
const BIN = join(BUILD_DIR, 'bin/resizer');

const work = mkdtempSync(join(tmpdir(), 'resizer-miss-ab-'));
process.once('exit', () => rmSync(work, { recursive: true, force: true }));
const LINKS = 512;
linkedSources(work, LINKS);

function forkWorker(file: string): ChildProcess {
  return fork(join(ROOT, file), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
function ask<T>(child: ChildProcess, msg: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: { ok: boolean; res?: T; error?: string }) => { child.off('message', onMsg); if (m.ok) resolve(m.res as T); else reject(new Error(m.error)); };
    child.on('message', onMsg);
    child.send(msg as object);
  });
}

const loader = forkWorker('bench/lib/load-worker.ts');
const bare = forkWorker('bench/bare-worker.ts');
const port = await freePort();
const server = start(BIN, ['serve', '--source', work, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', '--cache', 'none', '--memory-cache-mb', '0', ...OURS_ARGS], { cwd: ROOT });
const base = `http://127.0.0.1:${port}`;
try {
  await waitForHttp(`${base}/_/healthz`, server);
  log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${DURATION} s cells, ours and bare alternating`);
  for (const w of WORKLOADS.filter((x) => x.kind === 'miss' && ONLY.includes(x.id))) {
    const paths = Array.from({ length: LINKS }, (_, i) => w.ours.replace(new RegExp(`/${w.source.replace('.', '\\.')}$`), `/b${i}/${w.source}`));
    // Warm-up of both: lazy initialisation, JIT.
    await ask<CellResult>(loader, { url: base, connections: 1, durationS: 1, paths, okStatuses: [200] } satisfies LoadJob);
    await ask<CellResult>(bare, { op: 'run', job: { source: join(work, w.source), transform: w.transform, concurrency: 1, durationS: 1 } satisfies BareJob });
    for (const c of CONC) {
      const sum = { ours: 0, bare: 0, oursS: 0, bareS: 0 };
      const ratios: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // Which goes first alternates too, so that neither always follows the other.
        const order = r % 2 === 0 ? ['ours', 'bare'] as const : ['bare', 'ours'] as const;
        const got: Record<string, CellResult> = {};
        for (const who of order) {
          got[who] = who === 'ours'
            ? await ask<CellResult>(loader, { url: base, connections: c, durationS: DURATION, paths, okStatuses: [200] } satisfies LoadJob)
            : await ask<CellResult>(bare, { op: 'run', job: { source: join(work, w.source), transform: w.transform, concurrency: c, durationS: DURATION } satisfies BareJob });
        }
        const o = got.ours as CellResult;
        const b = got.bare as CellResult;
        sum.ours += o.ok; sum.bare += b.ok; sum.oursS += o.durationS; sum.bareS += b.durationS;
        ratios.push(o.okPerSec / b.okPerSec);
        log(`${w.id} c=${c} round ${r + 1}: ours ${o.okPerSec.toFixed(1)} ok/s (p50 ${o.p50.toFixed(1)} ms), bare ${b.okPerSec.toFixed(1)} ok/s (p50 ${b.p50.toFixed(1)} ms): ${(o.okPerSec / b.okPerSec).toFixed(2)}x`);
      }
      ratios.sort((x, y) => x - y);
      const total = (sum.ours / sum.oursS) / (sum.bare / sum.bareS);
      console.log(`${w.id} c=${c}: ours ${(sum.ours / sum.oursS).toFixed(1)} ok/s, bare ${(sum.bare / sum.bareS).toFixed(1)} ok/s: ${total.toFixed(3)}x (rounds: median ${ratios[ratios.length >> 1]?.toFixed(2)}x, ${ratios[0]?.toFixed(2)}-${ratios[ratios.length - 1]?.toFixed(2)}x)`);
    }
  }
  log(`load at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await server.stop();
  loader.kill();
  bare.kill();
}
