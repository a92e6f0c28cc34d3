import cluster from 'node:cluster';
import type { Logger } from '../app.js';
import type { Config } from '../config/index.js';

/**
 * `--workers N`: N server processes behind one listening socket (node:cluster). One process serves hits at
 * the speed of one event loop; N of them use N cores for the hit path. Each worker takes its share of the
 * transform concurrency, the queue and the hot set, so that the whole stays inside the limits configured
 * for the machine (but every worker holds its own copy of Node, sharp and its share of the hot set: more
 * memory, see docs/benchmarks.md).
 */
export function workerShare(config: Config, workers: number): Config {
  if (workers <= 1) return config;
  return {
    ...config,
    concurrency: Math.max(1, Math.ceil(config.concurrency / workers)),
    queueSize: Math.ceil(config.queueSize / workers),
    memoryCacheMb: Math.ceil(config.memoryCacheMb / workers),
    memoryBudgetMb: Math.ceil(config.memoryBudgetMb / workers),
  };
}

/** The primary's request to a worker to drain (a message, not a signal: a terminal's Ctrl-C reaches them all). */
export const DRAIN_MESSAGE = 'resizer:drain';

/** In a worker: drain when the primary says so. */
export function onPrimaryDrain(start: () => void): void {
  process.on('message', (m: { type?: string }) => { if (m?.type === DRAIN_MESSAGE) start(); });
}

/**
 * In the primary: forks the workers, replaces one that dies (at most once a second), and drains them all on
 * SIGTERM/SIGINT (each worker finishes its requests, src/server/drain.ts); exits 0 once they all exited cleanly.
 * A second signal, or workers still alive past the drain timeout, ends them at once. Resolves once every worker
 * listens.
 */
export async function superviseWorkers(workers: number, logger: Logger, drainTimeoutMs = 20_000, onStop?: () => void): Promise<void> {
  let stopping = false;
  let lastFork = 0;
  let sweeperId = -1;
  const fork = (sweeper = false) => {
    lastFork = Date.now();
    const w = cluster.fork(sweeper ? { [SWEEPER_ENV]: '1' } : {});
    if (sweeper) sweeperId = w.id;
    return w;
  };
  const listening = Array.from({ length: workers }, (_, i) => new Promise<void>((resolve) => fork(i === 0).once('listening', () => resolve())));
  let failed = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      failed ||= code !== 0;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, Math.max(0, 1000 - (Date.now() - lastFork)), worker.id === sweeperId);
  });
  const now = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    process.exit(1);
  };
  const stop = () => {
    if (stopping) return now();
    stopping = true;
    onStop?.();
    const alive = Object.values(cluster.workers ?? {});
    if (!alive.length) process.exit(0);
    logger.info({ workers: alive.length, timeoutMs: drainTimeoutMs }, 'draining workers');
    for (const w of alive) w?.send({ type: DRAIN_MESSAGE });
    // Each worker keeps its own deadline; this one is for a worker that cannot even do that.
    setTimeout(now, drainTimeoutMs + 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await Promise.all(listening);
}

export const isClusterWorker = (): boolean => cluster.isWorker;

/**
 * The workers share one cache folder: one of them (the first, or its replacement) sweeps crash leftovers, not
 * every one of them over the same tree. Lower-case, so the config does not take it for a RESIZER_* setting.
 */
const SWEEPER_ENV = 'resizer_cluster_sweeper';
export const isSweeper = (): boolean => !cluster.isWorker || process.env[SWEEPER_ENV] === '1';
