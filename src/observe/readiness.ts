import { internalMessage } from '../errors/index.js';
import { textResponse, type AppRequest, type AppResponse } from '../http/headers.js';
import type { DerivativeStore, SourceStore } from '../storage/types.js';

/** A key no image has: reading it answers "not there" from a reachable store, and fails from one that is down. */
export const PROBE_KEY = '.resizer-readyz';

export interface ReadinessOptions {
  sources: SourceStore;
  derivatives: DerivativeStore | null;
  /** A store check is reused this long, so probes from many load balancers cost the stores little. */
  cacheMs?: number;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface Readiness {
  /** `/_/readyz`: 200 when every store answered its last check; 503 while draining or when one did not. */
  route(req: AppRequest): Promise<AppResponse>;
  /** From now on readiness says 503, so load balancers stop sending new requests. */
  drain(): void;
  readonly draining: boolean;
  /** The same answer as the route, as a boolean (the ops port, a cluster primary asking its workers). */
  isReady(): Promise<boolean>;
}

export const READINESS_CACHE_MS = 3000;

export function createReadiness(opts: ReadinessOptions): Readiness {
  const cacheMs = opts.cacheMs ?? READINESS_CACHE_MS;
  let draining = false;
  let last: { at: number; problems: string[] } | undefined;
  let running: Promise<string[]> | undefined;

  async function check(): Promise<string[]> {
    const probes: Array<[string, () => Promise<unknown>]> = [['source store', () => opts.sources.head(PROBE_KEY)]];
    const { derivatives } = opts;
    if (derivatives) probes.push(['derivative store', () => derivatives.get(PROBE_KEY)]);
    const results = await Promise.allSettled(probes.map(([, probe]) => probe()));
    return results.flatMap((r, i) => {
      if (r.status === 'fulfilled') return [];
      opts.logger?.warn({ internal: internalMessage(r.reason) }, `readiness: ${probes[i]![0]} unreachable`);
      return [`${probes[i]![0]} unreachable`];
    });
  }

  /** At most one check at a time and one per cacheMs; concurrent probes share it. */
  async function problems(): Promise<string[]> {
    if (last && performance.now() - last.at < cacheMs) return last.problems;
    running ??= check().then((p) => {
      last = { at: performance.now(), problems: p };
      return p;
    }).finally(() => { running = undefined; });
    return running;
  }

  return {
    async route() {
      if (draining) return textResponse(503, 'draining\n');
      const p = await problems();
      if (draining) return textResponse(503, 'draining\n');
      return p.length ? textResponse(503, `${p.join('\n')}\n`) : textResponse(200, 'ready\n');
    },
    drain() { draining = true; },
    async isReady() { return !draining && (await problems()).length === 0 && !draining; },
    get draining() { return draining; },
  };
}
