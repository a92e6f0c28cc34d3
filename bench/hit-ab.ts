/**
 * The nginx-front hit row against nginx serving the same file statically, alternating short wrk cells round after
 * round so that both see the same background load (bench/run.ts runs them a minute apart). Same configs as
 * bench/run.ts: deploy/nginx/resizer.conf in front of our server, and the bench's static server block.
 * Run: node --import tsx bench/hit-ab.ts [--c 8,32] [--rounds 5] [--duration 3] [--path /400x400,webp/kleiber.jpg]
 *      [--static-conf "extra http-level directives"] [--front-conf "extra directives in the front's location /"]
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nginxFrontServer, nginxMainConfig } from '../deploy/nginx/config.js';
import { cpuMs, freePort, get, processTree, start, waitForHttp, type Child } from './lib/proc.js';
import type { CellResult } from './lib/stats.js';
import { runWrk } from './lib/wrk.js';
import { SOURCES } from './workloads.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(ROOT);
const argv = process.argv.slice(2);
const opt = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
const CONC = (opt('c') ?? '8,32').split(',').map(Number);
const ROUNDS = Number(opt('rounds') ?? 5);
const DURATION = Number(opt('duration') ?? 3);
const PATH = opt('path') ?? '/400x400/kleiber.jpg';
const log = (s: string) => process.stderr.write(`[hit-ab] ${s}\n`);

const work = mkdtempSync(join(tmpdir(), 'resizer-hit-ab-'));
const src = join(work, 'src');
const cache = join(work, 'cache');
mkdirSync(src);
mkdirSync(cache);
cpSync(SOURCES['kleiber.jpg'], join(src, 'kleiber.jpg'));
const children: Child[] = [];
process.once('exit', () => rmSync(work, { recursive: true, force: true }));

/** CPU time (ms) of an nginx and its workers so far: per request, less noisy than throughput on a shared machine. */
const treeCpu = (pid: number) => processTree(pid).reduce((sum, p) => sum + cpuMs(p), 0);
const pids: Record<string, number> = {};

async function nginx(name: string, server: string, port: number, probe: string): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'nginx.conf'), nginxMainConfig(dir, server, 'auto'));
  const child = start('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')]);
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(base + probe, child);
  pids[base] = child.pid;
  return base;
}

try {
  // Our server makes the derivative, final at once (no re-encode pending), so that nginx finds it under .typed/.
  const oursPort = await freePort();
  const ours = start(join(ROOT, 'bin/resizer'), ['serve', '--source', src, '--cache', cache, '--port', String(oursPort), '--host', '127.0.0.1', '--log-level', 'warn', '--optimise', 'off']);
  children.push(ours);
  await waitForHttp(`http://127.0.0.1:${oursPort}/_/healthz`, ours);
  const made = await get(`http://127.0.0.1:${oursPort}${PATH}`);
  if (made.status !== 200) throw new Error(`miss: HTTP ${made.status}`);
  const frontPort = await freePort();
  const frontServer = nginxFrontServer({ listen: `127.0.0.1:${frontPort}`, cacheDir: cache, resizer: `127.0.0.1:${oursPort}` })
    .replace('        sendfile on;', `        sendfile on;\n        ${opt('front-conf') ?? ''}`);
  const front = await nginx('front', frontServer, frontPort, '/_/healthz');
  const staticPort = await freePort();
  const stat = await nginx('static', `  sendfile on;
  tcp_nopush on;
  open_file_cache max=64 inactive=60s;
  types { image/jpeg jpg; image/webp webp; image/avif avif; }
  ${opt('static-conf') ?? ''}
  server { listen 127.0.0.1:${staticPort}; root ${cache}; }`, staticPort, PATH);
  const a = await get(front + PATH);
  const b = await get(stat + PATH);
  if (a.headers['x-cache'] !== undefined || !a.body.equals(b.body)) throw new Error('nginx front did not serve the same file itself');
  log(`same ${a.body.length} bytes from both; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const c of CONC) {
    const sum = { front: 0, static: 0 };
    const cpu = { front: 0, static: 0 };
    const served = { front: 0, static: 0 };
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['front', 'static'] as const : ['static', 'front'] as const;
      const got: Record<string, CellResult> = {};
      for (const who of order) {
        const base = who === 'front' ? front : stat;
        const c0 = treeCpu(pids[base]!);
        got[who] = await runWrk(work, base + PATH, c, DURATION, {}, [200]);
        cpu[who] += treeCpu(pids[base]!) - c0;
        served[who] += got[who]!.ok;
      }
      const f = got.front as CellResult;
      const s = got.static as CellResult;
      sum.front += f.okPerSec; sum.static += s.okPerSec;
      ratios.push(f.okPerSec / s.okPerSec);
      log(`c=${c} round ${r + 1}: front ${f.okPerSec.toFixed(0)}/s (p99 ${f.p99.toFixed(1)} ms), static ${s.okPerSec.toFixed(0)}/s (p99 ${s.p99.toFixed(1)} ms): ${(f.okPerSec / s.okPerSec).toFixed(2)}x`);
    }
    ratios.sort((x, y) => x - y);
    const perHit = (who: 'front' | 'static') => (cpu[who] * 1000) / served[who];
    console.log(`hit c=${c}: nginx front ${(sum.front / ROUNDS).toFixed(0)}/s, nginx static ${(sum.static / ROUNDS).toFixed(0)}/s: ${(sum.front / sum.static).toFixed(3)}x (rounds: median ${ratios[ratios.length >> 1]?.toFixed(2)}x, ${ratios[0]?.toFixed(2)}-${ratios[ratios.length - 1]?.toFixed(2)}x); `
      + `nginx CPU per hit: front ${perHit('front').toFixed(1)} µs, static ${perHit('static').toFixed(1)} µs`);
  }
  log(`load at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  for (const c of children.reverse()) await c.stop();
}
