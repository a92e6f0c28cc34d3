/**
 * The load generator, in its own process so that its CPU is measured apart from the orchestrator's:
 * autocannon's programmatic API, keep-alive connections, one request in flight per connection, bounded in time.
 * Latencies are kept per status so that admitted (2xx/304) and refused (503) requests are reported apart.
 */
import autocannon from 'autocannon';
import { summarize, type CellResult } from './stats.js';

export interface LoadJob {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
  /** Paths to rotate through, one per request (cache busting); default: the url's own path. */
  paths?: string[];
  /** Statuses that count as success (default: 200). */
  okStatuses?: number[];
}

async function run(job: LoadJob): Promise<CellResult> {
  const ok: number[] = [];
  const other: number[] = [];
  const statuses: Record<string, number> = {};
  const okSet = new Set(job.okStatuses ?? [200]);
  // Cache busting: every admitted request names a path no other request in flight names. A refused (503)
  // request is retried on the same path, so that the refusals do not race through the paths. autocannon
  // calls onResponse, then builds the connection's next request, synchronously: `retry` hands the path over.
  let i = 0;
  let retry: string | undefined;
  const nextPath = () => job.paths?.[i++ % job.paths.length] ?? '/';
  const busting: autocannon.Request = {
    setupRequest: (req: autocannon.Request, context: object) => {
      const ctx = context as Record<string, unknown>;
      const path = retry ?? nextPath();
      retry = undefined;
      ctx.path = path;
      return { ...req, path };
    },
    onResponse: (status: number, _body: string, context: object) => {
      retry = status === 503 ? String((context as Record<string, unknown>).path) : undefined;
    },
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // The measured window is [t0, t0 + duration]: responses completed after it (autocannon's wind-down) are
  // not counted, and the rate is over the window's measured length (the same definition as bare-worker.ts).
  const end = t0 + job.durationS * 1000;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({
      url: job.url,
      connections: job.connections,
      pipelining: 1,
      duration: job.durationS,
      timeout: 60,
      headers: job.headers ?? {},
      ...(job.paths?.length ? { requests: [busting] } : {}),
    }, (err: unknown, res: autocannon.Result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(res)));
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (performance.now() > end) return;
      statuses[status] = (statuses[status] ?? 0) + 1;
      (okSet.has(status) ? ok : other).push(ms);
    });
  });
  const finished = performance.now();
  const elapsed = (finished - t0) / 1000;
  const windowS = (Math.min(end, finished) - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const o = summarize(ok);
  const r = summarize(other);
  return {
    okPerSec: ok.length / windowS,
    otherPerSec: other.length / windowS,
    ok: ok.length,
    other: other.length,
    errors: result.errors + result.timeouts,
    statuses,
    p50: o.p50,
    p99: o.p99,
    otherP50: other.length ? r.p50 : undefined,
    otherP99: other.length ? r.p99 : undefined,
    durationS: windowS,
    loadGenCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    tool: 'autocannon',
  };
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (res) => process.send?.({ ok: true, res }),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? err.stack : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
