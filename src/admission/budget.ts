import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** Share of the machine's (or container's) memory that resizer plans to use; the rest is the allocator's slack. */
export const BUDGET_SHARE = 0.75;

/** The cgroup memory limit (v2, then v1), or undefined when there is none. */
export function cgroupMemoryLimit(): number | undefined {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch {
      continue;
    }
    const n = Number(text);
    // v2 says "max"; v1 says a number near 2^63 when unlimited.
    if (Number.isFinite(n) && n > 0 && n < totalmem() * 4) return n;
  }
  return undefined;
}

/**
 * The default memory budget of one server process for transforms and the sources read for them:
 * `0.75 × (cgroup limit, or physical memory) − baseline RSS − hot set`, shared among `workers` processes.
 */
export function defaultMemoryBudget(opts: { baselineBytes: number; hotSetBytes: number; workers: number }): number {
  const limit = cgroupMemoryLimit() ?? totalmem();
  const machine = BUDGET_SHARE * limit - opts.workers * (opts.baselineBytes + opts.hotSetBytes);
  return Math.max(64 * 2 ** 20, Math.floor(machine / opts.workers));
}
