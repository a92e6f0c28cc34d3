import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Admission, AdmissionStats } from '../admission/admission.js';
import type { DeriveObserver } from '../derive/service.js';
import { statusClass, type RequestRecord } from './record.js';

/** What the metrics read from the running app (its admission and derivative counters). */
export interface Watched {
  readonly admission: Admission;
}

export interface Metrics {
  readonly registry: Registry;
  /** Hooks for the derivative service, with the store kinds (`fs`, `s3`) as labels. */
  observer(kinds: { source: string; derivatives: string }): DeriveObserver;
  request(r: RequestRecord): void;
  /** Gauges and refusal counters read the app's admission at each scrape. */
  watch(app: Watched): void;
}

/** `s3://bucket` → s3, `fs:/srv` → fs: a bounded label, never a path. */
export function storeKind(description: string | undefined): string {
  if (!description) return 'none';
  return /^s3:/.test(description) ? 's3' : /^fs:/.test(description) ? 'fs' : 'other';
}

/** `image/webp` → webp; anything unexpected folds into `other`, so labels stay bounded. */
function formatOf(contentType: string): string {
  const f = /^image\/([a-z0-9+.-]+)$/.exec(contentType)?.[1] ?? 'other';
  return ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff', 'svg+xml', 'heif', 'jp2'].includes(f) ? f : 'other';
}

const REFUSALS: Array<[keyof AdmissionStats, string]> = [
  ['refused', 'overloaded'], ['expired', 'deadline'], ['abandoned', 'client_gone'], ['overBudget', 'over_budget'],
];

/**
 * The service's Prometheus metrics, in a registry of its own (tests run several apps in one process). Labels are
 * status classes, cache results, formats, store kinds and refusal reasons: never keys or option segments.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const watched: Watched[] = [];
  const on = { registers: [registry] };

  const requests = new Counter({ name: 'resizer_requests_total', help: 'Requests answered, by status class and cache result', labelNames: ['status', 'cache'], ...on });
  const duration = new Histogram({
    name: 'resizer_request_duration_seconds', help: 'Time to answer a request, by cache result', labelNames: ['cache'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ...on,
  });
  const bytesOut = new Counter({ name: 'resizer_response_bytes_total', help: 'Response body bytes sent', ...on });
  const lookups = new Counter({ name: 'resizer_cache_lookups_total', help: 'Derivative lookups by where they were found: memory (hot set), store, miss', labelNames: ['result'], ...on });
  const transform = new Histogram({
    name: 'resizer_transform_duration_seconds', help: 'Transform (decode, resize, encode) time, by output format', labelNames: ['format'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20], ...on,
  });
  const ioBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const sourceRead = new Histogram({ name: 'resizer_source_read_duration_seconds', help: 'Source reads, by store kind and outcome (ok; rejected: missing or too large; error: the store failed)', labelNames: ['store', 'outcome'], buckets: ioBuckets, ...on });
  const storeWrite = new Histogram({ name: 'resizer_store_write_duration_seconds', help: 'Derivative writes, by store kind and outcome', labelNames: ['store', 'outcome'], buckets: ioBuckets, ...on });

  // 1 per process: summed over --workers, it says how many answered the scrape.
  new Gauge({ name: 'resizer_processes', help: 'Serving processes that answered this scrape', ...on }).set(1);
  // Read at scrape time from the admission itself: no bookkeeping on the request path.
  const sum = (f: (a: Admission) => number) => watched.reduce((n, w) => n + f(w.admission), 0);
  new Gauge({ name: 'resizer_admission_in_flight', help: 'Transforms on the CPU now', ...on, collect() { this.set(sum((a) => a.active)); } });
  new Gauge({ name: 'resizer_admission_waiting', help: 'Requests admitted and waiting for a transform slot (reading included)', ...on, collect() { this.set(sum((a) => a.waiting)); } });
  new Gauge({ name: 'resizer_admission_memory_in_flight_bytes', help: 'Predicted memory held by transforms in flight and their sources', ...on, collect() { this.set(sum((a) => a.bytesInFlight)); } });
  new Gauge({ name: 'resizer_admission_memory_budget_bytes', help: 'The memory budget of transforms', ...on, collect() { this.set(sum((a) => a.opts.memoryBudgetBytes)); } });
  const seen = new Map<string, number>();
  new Counter({
    name: 'resizer_admission_refusals_total', labelNames: ['reason'], ...on,
    help: 'Requests admission turned away: overloaded (503 at arrival), deadline (503 while waiting), client_gone, over_budget (422)',
    collect() {
      for (const [field, reason] of REFUSALS) {
        const now = sum((a) => a.stats[field]);
        const delta = now - (seen.get(reason) ?? 0);
        // Every reason is exported from the first scrape on, at 0 until it happens: alerts need the series.
        this.inc({ reason }, delta);
        seen.set(reason, now);
      }
    },
  });

  return {
    registry,
    observer: (kinds) => ({
      lookup: (found) => lookups.inc({ result: found }),
      sourceRead: (s, outcome) => sourceRead.observe({ store: kinds.source, outcome }, s),
      transform: (contentType, s) => transform.observe({ format: formatOf(contentType) }, s),
      storeWrite: (s, ok) => storeWrite.observe({ store: kinds.derivatives, outcome: ok ? 'ok' : 'error' }, s),
    }),
    request(r) {
      const cache = r.cache === 'HIT' || r.cache === 'MISS' ? r.cache.toLowerCase() : 'none';
      requests.inc({ status: statusClass(r.status), cache });
      duration.observe({ cache }, r.durationMs / 1000);
      bytesOut.inc(r.bytes);
    },
    watch(app) { watched.push(app); },
  };
}
