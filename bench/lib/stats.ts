/** One measured cell: a contender, a workload, a concurrency. Latencies in ms. */
export interface CellResult {
  /** Successful responses (2xx, or 304 on the revalidation workload) per second. */
  okPerSec: number;
  /** Other responses per second (503 refusals under overload, 4xx, 5xx). */
  otherPerSec: number;
  ok: number;
  other: number;
  /** Socket errors and timeouts. */
  errors: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  /** Latency of the non-ok responses (the refused ones), when any. */
  otherP50?: number;
  otherP99?: number;
  durationS: number;
  /** Peak resident memory of the contender's process tree during the cell, bytes. */
  peakRss?: number;
  /** Peak of the largest single process of that tree, bytes. */
  peakRssLargest?: number;
  /** CPU time of the load generator during the cell, as a share of one core (1 = 100 %). */
  loadGenCpu?: number;
  /** CPU time of the contender during the cell, as a share of one core. */
  serverCpu?: number;
  tool: string;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function summarize(latencies: number[]): { p50: number; p99: number } {
  const s = Float64Array.from(latencies).sort();
  const arr = Array.from(s);
  return { p50: percentile(arr, 50), p99: percentile(arr, 99) };
}
