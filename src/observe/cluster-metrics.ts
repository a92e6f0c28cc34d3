import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * `--workers N`: each worker keeps its own metrics; a scrape must see the sum, not whichever worker the connection
 * landed on. The primary gathers them with prom-client's AggregatorRegistry (its own IPC protocol, counters and
 * histograms summed); a worker asked for /_/metrics asks the primary for that sum over this small protocol.
 */
const ASK = 'resizer:scrape?';
const ANSWER = 'resizer:scrape';
const READY_ASK = 'resizer:ready?';
const READY_ANSWER = 'resizer:ready';
export const SCRAPE_TIMEOUT_MS = 5000;

interface Message { type?: string; id?: number; text?: string; error?: string; ready?: boolean }

/** In a worker: answers the primary's requests for this registry (prom-client's listener) and for readiness. */
export function offerToPrimary(registry: Registry | undefined, isReady: () => Promise<boolean>): void {
  if (registry) {
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
  }
  process.on('message', (m: Message) => {
    if (m?.type !== READY_ASK) return;
    isReady().then((ready) => process.send?.({ type: READY_ANSWER, id: m.id, ready }), () => process.send?.({ type: READY_ANSWER, id: m.id, ready: false }));
  });
}

let nextId = 0;
const pending = new Map<number, (m: Message) => void>();
let listening = false;

/** In a worker: the sum over every worker, as Prometheus text. */
export function scrapeViaPrimary(timeoutMs = SCRAPE_TIMEOUT_MS): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (m: Message) => {
      if (m?.type === ANSWER && m.id !== undefined) pending.get(m.id)?.(m);
    });
  }
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => settle({ error: 'the primary did not answer' }), timeoutMs);
    function settle(m: Message) {
      clearTimeout(timer);
      pending.delete(id);
      if (m.error !== undefined) reject(new Error(`metrics scrape failed: ${m.error}`));
      else resolve(m.text ?? '');
    }
    pending.set(id, settle);
    process.send?.({ type: ASK, id });
  });
}

export interface ClusterOps {
  /** Prometheus text summed over every worker. */
  metrics(): Promise<string>;
  /** True when every connected worker says it is ready. */
  ready(): Promise<boolean>;
  readonly contentType: string;
}

/** In the primary: answers workers' scrapes, and gathers metrics and readiness for its own ops port. */
export function gatherFromWorkers(): ClusterOps {
  const aggregator = new AggregatorRegistry();
  const waiting = new Map<number, (ready: boolean) => void>();
  let readyId = 0;
  cluster.on('message', (worker, m: Message) => {
    if (m?.type === ASK) {
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: ANSWER, id: m.id, text }),
        (err: Error) => worker.send({ type: ANSWER, id: m.id, error: err.message }),
      );
    } else if (m?.type === READY_ANSWER && m.id !== undefined) {
      waiting.get(m.id)?.(m.ready === true);
    }
  });
  const askReady = (worker: NonNullable<typeof cluster.workers>[string]) => new Promise<boolean>((resolve) => {
    const id = readyId++;
    const timer = setTimeout(() => done(false), SCRAPE_TIMEOUT_MS);
    function done(ready: boolean) { clearTimeout(timer); waiting.delete(id); resolve(ready); }
    waiting.set(id, done);
    worker?.send({ type: READY_ASK, id });
  });
  return {
    metrics: () => aggregator.clusterMetrics(),
    async ready() {
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
      if (!workers.length) return false;
      return (await Promise.all(workers.map(askReady))).every(Boolean);
    },
    contentType: aggregator.contentType,
  };
}
