import { LRUCache } from 'lru-cache';

/**
 * An LRU of at most `entries` entries, each kept `ttlMs`. Bounded through `maxSize` (every entry counts 1) rather
 * than `max`: with `max`, lru-cache allocates its arrays for every entry up front, and the five tables of up to
 * 100,000 entries the service keeps took ~37 ms (and a garbage collection) of every start, before the first
 * request; these grow as they fill.
 */
export function entryLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(entries: number, ttlMs: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: entries, sizeCalculation: () => 1, ttl: ttlMs, ttlAutopurge: false });
}
