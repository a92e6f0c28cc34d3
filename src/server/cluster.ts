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

/**
 * In the primary: forks the workers, replaces one that dies (at most once a second), and stops them all on
 * SIGTERM/SIGINT. Resolves once every worker listens.
 */
export async function superviseWorkers(workers: number, logger: Logger): Promise<void> {
  let stopping = false;
  let lastFork = 0;
  const fork = () => {
    lastFork = Date.now();
    return cluster.fork();
  };
  const listening = Array.from({ length: workers }, () => new Promise<void>((resolve) => fork().once('listening', () => resolve())));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, Math.max(0, 1000 - (Date.now() - lastFork)));
  });
  const stop = () => {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {});
    if (!alive.length) process.exit(0);
    for (const w of alive) w?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await Promise.all(listening);
}

export const isClusterWorker = (): boolean => cluster.isWorker;
