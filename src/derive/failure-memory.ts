import type { LRUCache } from 'lru-cache';
import { entryLru } from './lru.js';
import { ResizerError, TransformTimeout } from '../errors/index.js';

/** How many failed derivative keys are remembered at most: a bound on memory, not a tuning knob. */
export const FAILURE_MEMORY_ENTRIES = 10_000;

/**
 * Remembers, per derivative key, that making it failed, and answers the same error for `ttlSeconds` without
 * trying again. A poisonous source (an SVG that renders for seconds and then fails, a bomb that decodes to the
 * pixel limit before it is refused) then costs one transform per interval instead of one per request.
 *
 * Remembered: what the source itself causes and a retry would repeat: too large (413), not decodable (415, 422),
 * a transform out of time (TransformTimeout, 504), and bugs (not a ResizerError: remembered as their public 500).
 * Not remembered: what passes on its own: a missing source (404: it may be uploaded the next moment), and store
 * or origin trouble (502, 503, a store's 504), and the server being busy (503).
 */
export class FailureMemory {
  private readonly lru: LRUCache<string, ResizerError> | undefined;

  constructor(ttlSeconds: number, maxEntries = FAILURE_MEMORY_ENTRIES) {
    if (ttlSeconds <= 0) return;
    this.lru = entryLru<string, ResizerError>(maxEntries, ttlSeconds * 1000);
  }

  /** Throws the remembered error of `key`, if it failed within the interval. */
  check(key: string): void {
    const remembered = this.lru?.get(key);
    if (remembered) throw remembered;
  }

  /** Records `err` for `key` when it is worth remembering; returns `err` for rethrowing. */
  remember(key: string, err: unknown): unknown {
    if (!this.lru) return err;
    if (!isPoisonous(err)) return err;
    this.lru.set(key, err instanceof ResizerError ? err : new ResizerError(500, 'Internal server error', {}, { cause: err }));
    return err;
  }

  get size(): number { return this.lru?.size ?? 0; }
}

function isPoisonous(err: unknown): boolean {
  if (!(err instanceof ResizerError)) return true;
  return err instanceof TransformTimeout || err.status === 413 || err.status === 415 || err.status === 422;
}
