import { LRUCache } from 'lru-cache';
import { ResizerError } from '../errors/index.js';

/** How many failed derivative keys are remembered at most: a bound on memory, not a tuning knob. */
export const FAILURE_MEMORY_ENTRIES = 10_000;

/**
 * Remembers, per derivative key, that making it failed, and answers the same error for `ttlSeconds` without
 * trying again. A poisonous source (an SVG that renders for seconds and then fails, a bomb that decodes to the
 * pixel limit before it is refused) then costs one transform per interval instead of one per request.
 *
 * Remembered: every failure of the transform or of reading its source, except those a retry can fix at once:
 * 503 (this server is busy) and 404 (the source may be uploaded the next moment; a miss costs no transform).
 * Failures that are bugs (not a ResizerError, a 500) are remembered too, as their public 500.
 */
export class FailureMemory {
  private readonly lru: LRUCache<string, ResizerError> | undefined;

  constructor(ttlSeconds: number, maxEntries = FAILURE_MEMORY_ENTRIES) {
    if (ttlSeconds <= 0) return;
    this.lru = new LRUCache<string, ResizerError>({ max: maxEntries, ttl: ttlSeconds * 1000, ttlAutopurge: false });
  }

  /** Throws the remembered error of `key`, if it failed within the interval. */
  check(key: string): void {
    const remembered = this.lru?.get(key);
    if (remembered) throw remembered;
  }

  /** Records `err` for `key` when it is worth remembering; returns `err` for rethrowing. */
  remember(key: string, err: unknown): unknown {
    if (!this.lru) return err;
    const status = err instanceof ResizerError ? err.status : 500;
    if (status === 503 || status === 404) return err;
    this.lru.set(key, err instanceof ResizerError ? err : new ResizerError(500, 'Internal server error', {}, { cause: err }));
    return err;
  }

  get size(): number { return this.lru?.size ?? 0; }
}
