import { LRUCache } from 'lru-cache';
import type { StoredDerivative } from '../storage/types.js';

/**
 * The hot set: recently served derivatives kept in memory, bounded by bytes. A short TTL bounds how long a
 * purge on another server goes unnoticed here.
 */
export class HotSet {
  private readonly lru: LRUCache<string, StoredDerivative> | undefined;

  constructor(maxBytes: number, ttlSeconds: number) {
    if (maxBytes <= 0) return;
    this.lru = new LRUCache<string, StoredDerivative>({
      maxSize: maxBytes,
      sizeCalculation: (d) => Math.max(1, d.body.length + 256),
      // A single object larger than an eighth of the set would churn it.
      maxEntrySize: Math.max(1, Math.floor(maxBytes / 8)),
      ttl: ttlSeconds > 0 ? ttlSeconds * 1000 : undefined,
      ttlAutopurge: false,
    });
  }

  get(key: string): StoredDerivative | undefined {
    return this.lru?.get(key);
  }

  set(key: string, value: StoredDerivative): void {
    this.lru?.set(key, value);
  }

  delete(key: string): void {
    this.lru?.delete(key);
  }
}
