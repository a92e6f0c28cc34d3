/**
 * The limit: a bare in-process sharp loop doing the same transform as the server, with no HTTP, no cache, no
 * file read (the source is in memory). `concurrency` async loops, each starting its next transform as soon
 * as the previous one ends, for a bounded time. sharp's own defaults, except its operation cache (off, so
 * that repeating one input does not measure libvips' cache). Encoder settings: the server's own (lib/encoders.ts).
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { summarize, type CellResult } from './lib/stats.js';
import { transform } from './lib/encoders.js';
import type { Transform } from './workloads.js';

sharp.cache(false);

export interface BareJob {
  source: string;
  transform: Transform;
  concurrency: number;
  durationS: number;
}

const buffers = new Map<string, Buffer>();
function input(path: string): Buffer {
  let b = buffers.get(path);
  if (!b) { b = readFileSync(path); buffers.set(path, b); }
  return b;
}

async function run(job: BareJob): Promise<CellResult> {
  const buf = input(job.source);
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + job.durationS * 1000;
  let errors = 0;
  async function loop(): Promise<void> {
    while (performance.now() < end) {
      const s = performance.now();
      try {
        await transform(buf, job.transform);
        // The measured window is [t0, end]: only completions inside it count (as in the load generator).
        const done = performance.now();
        if (done <= end) lat.push(done - s);
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  // Completions within the window over the window's measured length (the same definition as load-worker.ts).
  const windowS = (Math.min(end, performance.now()) - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const { p50, p99 } = summarize(lat);
  return {
    okPerSec: lat.length / windowS, ok: lat.length, other: 0, otherPerSec: 0, errors, statuses: {},
    p50, p99, durationS: windowS, serverCpu: (cpu.user + cpu.system) / 1e6 / elapsed, tool: 'in-process',
  };
}

type Msg = { op: 'run'; job: BareJob } | { op: 'once'; source: string; transform: Transform };

process.on('message', (msg: Msg) => {
  const work = msg.op === 'run'
    ? run(msg.job)
    : transform(input(msg.source), msg.transform).then((r) => ({ bytes: r.data.length, width: r.width, height: r.height }));
  work.then(
    (res) => process.send?.({ ok: true, res }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.stack : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
