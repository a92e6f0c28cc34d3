import type { Server, ServerResponse } from 'node:http';

export interface DrainOptions {
  /** Requests in flight and queued get this long to finish; then connections are cut and the exit code is 1. */
  timeoutMs: number;
  /** Told at once, so readiness answers 503. */
  readiness: { drain(): void };
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** Servers closed once the drain is over (the ops port stays up meanwhile, to show readiness 503). */
  after?: Server[];
  exit?: (code: number) => void;
}

export interface Drainer {
  /** Starts the drain (idempotent): what SIGTERM, SIGINT and a cluster primary's request do. */
  start(reason: string): void;
  readonly draining: boolean;
}

/**
 * Graceful drain: readiness 503 at once; the listener stops accepting; every request already in (running or
 * queued for a transform) is answered; keep-alive connections are closed after their current response
 * (`Connection: close`) and idle ones at once; then exit 0. Past the timeout, whatever is left is cut (exit 1).
 */
export function drainer(server: Server, opts: DrainOptions): Drainer {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const open = new Set<ServerResponse>();
  let draining = false;
  // Registered after the app's handler, which answers asynchronously: this runs before any response is written.
  server.on('request', (_req, res: ServerResponse) => {
    if (draining) res.shouldKeepAlive = false;
    open.add(res);
    res.once('close', () => open.delete(res));
  });

  function finish(code: number): void {
    let left = opts.after?.length ?? 0;
    if (!left) return exit(code);
    for (const s of opts.after ?? []) {
      s.closeAllConnections();
      s.close(() => { if (--left === 0) exit(code); });
    }
  }

  return {
    get draining() { return draining; },
    start(reason) {
      if (draining) return;
      draining = true;
      const started = performance.now();
      opts.readiness.drain();
      opts.logger.info({ reason, inFlight: open.size, timeoutMs: opts.timeoutMs }, 'draining');
      for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
      const timer = setTimeout(() => {
        opts.logger.warn({ left: open.size }, 'drain timed out; closing the remaining connections');
        server.closeAllConnections();
        finish(1);
      }, opts.timeoutMs);
      timer.unref();
      // close() stops accepting and closes idle keep-alive connections; its callback runs when the last one ends.
      server.close(() => {
        clearTimeout(timer);
        opts.logger.info({ ms: Math.round(performance.now() - started) }, 'drained');
        finish(0);
      });
      server.closeIdleConnections();
    },
  };
}

/** The first SIGTERM or SIGINT drains; a second one exits at once. */
export function drainOnSignals(d: Drainer, exit: (code: number) => void = (code) => process.exit(code)): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (d.draining) return exit(signal === 'SIGINT' ? 130 : 143);
    d.start(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
