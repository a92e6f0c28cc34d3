import type { LRUCache } from 'lru-cache';
import { entryLru } from './lru.js';
import type { SourceStore, StoredDerivative } from '../storage/types.js';
import { SOURCE_ETAG } from './metadata.js';

interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * Revalidation against the source: a derivative older than the interval is compared with its source's current
 * ETag (one HEAD), and reported outdated when they differ, so it is made again. A match is remembered for one
 * interval, so each derivative costs at most one HEAD per interval per process.
 */
export class Revalidator {
  private readonly intervalMs: number;
  private readonly verified: LRUCache<string, true> | undefined;

  constructor(private readonly sources: SourceStore, intervalSeconds: number, private readonly logger: WarnLogger) {
    this.intervalMs = intervalSeconds * 1000;
    if (this.intervalMs > 0) this.verified = entryLru<string, true>(100_000, this.intervalMs);
  }

  async isOutdated(key: string, sourceKey: string, found: StoredDerivative): Promise<boolean> {
    if (!this.verified || Date.now() - found.lastModified.getTime() < this.intervalMs || this.verified.has(key)) return false;
    let current;
    try {
      current = await this.sources.head(sourceKey);
    } catch (err) {
      // A source store in trouble should not take down images that are already made.
      this.logger.warn({ err, key }, 'revalidation failed; serving the stored derivative');
      return false;
    }
    if (current && current.etag === found.metadata[SOURCE_ETAG]) {
      this.verified.set(key, true);
      return false;
    }
    return true;
  }
}
