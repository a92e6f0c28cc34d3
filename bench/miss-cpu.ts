/**
 * CPU time per miss, which the machine's other load moves far less than throughput: the bare loop's transform,
 * the app in-process (no sockets), and the server over HTTP (its whole process, from /proc) with the load
 * generator's own CPU. Sequential requests over the bench's hard links, so each is a real miss.
 * Run: node --import tsx bench/miss-cpu.ts [workload id] [requests per round] [rounds]   (sources: /tmp/bytes-src or MISS_CPU_SOURCES,
 * a folder holding kleiber.jpg, dice.png, seeding.jpg and b0..b299/ hard links of them)
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { DEFAULTS } from '../src/config/index.js';
import { buildApp } from '../src/runtime.js';
import { transform } from './lib/encoders.js';
import { cpuMs, freePort, start, waitForHttp } from './lib/proc.js';
import { WORKLOADS } from './workloads.js';

const w = WORKLOADS.find((x) => x.id === (process.argv[2] ?? 'jpeg500'))!;
const N = Number(process.argv[3] ?? 40);
const dir = process.env.MISS_CPU_SOURCES ?? '/tmp/bytes-src';
const pathOf = (i: number) => w.ours.replace(`/${w.source}`, `/b${i % 300}/${w.source}`);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

const ROUNDS = Number(process.argv[4] ?? 3);
const buf = readFileSync(`${dir}/${w.source}`);
const app = await buildApp({ ...DEFAULTS, source: dir, cache: 'none', memoryCacheMb: 0, logLevel: 'silent' }, pino({ level: 'silent' }));
let next = 0;
async function perMiss(run: () => Promise<unknown>): Promise<number> {
  const c0 = cpu();
  for (let i = 0; i < N; i++) await run();
  return (cpu() - c0) / N;
}
const port = await freePort();
const server = start(new URL('../bin/resizer', import.meta.url).pathname, ['serve', '--source', dir, '--cache', 'none', '--memory-cache-mb', '0', '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn']);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = (p: string) => new Promise<void>((resolve, reject) => {
  http.get(`http://127.0.0.1:${port}${p}`, { agent }, (r) => { r.resume(); r.on('end', () => (r.statusCode === 200 ? resolve() : reject(new Error(String(r.statusCode))))); }).on('error', reject);
});
try {
  await waitForHttp(`http://127.0.0.1:${port}/_/healthz`, server);
  for (let i = 0; i < 3; i++) { await get(pathOf(next++)); await transform(buf, w.transform); await app.handle({ method: 'GET', url: pathOf(next++), headers: {} }); }
  // Rounds alternate the three, so that the machine's other load falls on all of them; the least of each is reported
  // (CPU time grows under contention too: caches, frequency).
  const r = { bare: [] as number[], app: [] as number[], http: [] as number[], client: [] as number[] };
  for (let k = 0; k < ROUNDS; k++) {
    r.bare.push(await perMiss(() => transform(buf, w.transform)));
    r.app.push(await perMiss(() => app.handle({ method: 'GET', url: pathOf(next++), headers: {} })));
    const s0 = cpuMs(server.pid);
    r.client.push(await perMiss(() => get(pathOf(next++))));
    r.http.push((cpuMs(server.pid) - s0) / N);
  }
  const least = (a: number[]) => Math.min(...a);
  console.log(`${w.id}: CPU ms per miss (least of ${ROUNDS} rounds of ${N}): bare loop ${least(r.bare).toFixed(1)}, app in-process ${least(r.app).toFixed(1)}, `
    + `server over HTTP ${least(r.http).toFixed(1)} (+ client ${least(r.client).toFixed(1)}): bare / server ${(least(r.bare) / least(r.http)).toFixed(2)}x`);
} finally {
  agent.destroy();
  await server.stop();
  process.exit(0);
}
