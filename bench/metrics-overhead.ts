/**
 * What observing costs on the hottest path: hits from the hot set, measured with autocannon (in its own process)
 * against the built server with metrics off, metrics on, and metrics on with every hit in the access log.
 * Usage: node --import tsx bench/metrics-overhead.ts [--seconds 8] [--connections 16]
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, start, waitForHttp } from './lib/proc.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => (argv.includes(`--${name}`) ? Number(argv[argv.indexOf(`--${name}`) + 1]) : dflt);
const seconds = opt('seconds', 8);
const connections = opt('connections', 16);
const root = new URL('..', import.meta.url).pathname;

const configs: Array<[string, string[]]> = [
  ['metrics off, hits not logged', ['--metrics', 'off', '--log-hit-percent', '0']],
  ['metrics on, hits not logged', ['--metrics', 'on', '--log-hit-percent', '0']],
  ['metrics on, every hit logged (defaults)', ['--metrics', 'on', '--log-hit-percent', '100']],
];

for (const round of [1, 2]) {
  for (const [name, args] of configs) {
    const port = await freePort();
    const srv = start(join(root, 'bin/resizer'), ['serve', '--source', 'demo/images', '--cache', 'none', '--port', String(port), '--playground', 'off', ...args], { cwd: root });
    const url = `http://127.0.0.1:${port}/200x/dice.png`;
    await waitForHttp(url, srv);
    const out = execFileSync(process.execPath, [join(root, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(seconds), url], { maxBuffer: 1 << 26 });
    const r = JSON.parse(out.toString()) as { requests: { average: number }; latency: { p99: number }; non2xx: number };
    console.log(`round ${round}  ${name.padEnd(42)} ${r.requests.average.toFixed(0).padStart(6)} req/s  p99 ${r.latency.p99} ms  non-2xx ${r.non2xx}`);
    await srv.stop();
  }
}
