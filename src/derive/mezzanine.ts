import { entryLru } from './lru.js';
import { RESERVED_SEGMENT } from '../url/path.js';
import type { Inspected } from '../pipeline/index.js';
import type { PipelineLimits } from '../pipeline/limits.js';
import { factsOf, makeMezzanine, type Mezzanine, type MezzanineSettings, type SourceFacts } from '../pipeline/mezzanine.js';
import type { DerivativeStore } from '../storage/types.js';
import { verified, type LoadedSource } from './source-read.js';
import { asServed, creationTime, derivativeMetadata, SOURCE_ETAG } from './metadata.js';
import type { Revalidator } from './revalidate.js';
import { SingleFlight } from './single-flight.js';

/**
 * The mezzanines' place in the derivative store: under the reserved `_` segment, which no options segment can
 * be, and which neither resizer's URL space (src/app.ts: service endpoints only) nor the CDN (src/cdn) serves.
 */
export const MEZZANINE_PREFIX = `${RESERVED_SEGMENT}/mezzanine/`;

export function mezzanineKey(sourceKey: string): string {
  return MEZZANINE_PREFIX + sourceKey;
}

/** Metadata a mezzanine carries besides the source's ETag: what its derivatives need to know of the source. */
const SOURCE_WIDTH = 'source-width';
const SOURCE_HEIGHT = 'source-height';
const SOURCE_FORMAT = 'source-format';
const SOURCE_ORIENTATION = 'source-orientation';
const WIDTH = 'width';
const HEIGHT = 'height';

export interface StoredMezzanine extends Mezzanine {
  facts: SourceFacts;
  sourceEtag: string;
}

interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * Finds, revalidates and makes mezzanines. Making one is single-flighted per source, as derivatives are per key:
 * concurrent misses of one source's sizes wait for the one mezzanine rather than each decoding the source.
 */
export class Mezzanines {
  private readonly flights = new SingleFlight<StoredMezzanine>();
  /**
   * Sources read lately that cannot have one, so their misses do not ask the store for it each time. A minute:
   * a source replaced by one that can have one gets it on a miss after that.
   */
  private readonly without = entryLru<string, true>(100_000, 60_000);
  /**
   * Sources whose miss went the direct way lately, with no mezzanine. One is made on a source's second miss, not
   * its first: a page of distinct thumbnails asks each source once, and making a mezzanine for each of them made
   * that first page 1.4-1.5x slower and its peak memory ~120 MB higher (docs/benchmarks.md, "srcset"). An hour: the
   * sizes of one page's srcset, or of one image over its visitors' devices, arrive well within it.
   */
  private readonly once = entryLru<string, true>(100_000, 3_600_000);

  constructor(
    readonly settings: MezzanineSettings,
    private readonly store: DerivativeStore,
    private readonly revalidator: Revalidator,
    private readonly limits: PipelineLimits,
    private readonly logger: WarnLogger,
    /** Told of each mezzanine made (each one a full decode of its source; the service's stats count them). */
    private readonly onMade: () => void = () => undefined,
  ) {}

  /** False for a source read lately that cannot have a mezzanine. */
  mayExist(sourceKey: string): boolean {
    return !this.without.has(sourceKey);
  }

  /** A source just read that cannot have a mezzanine (src/pipeline/mezzanine.ts, canHoldSource). */
  cannotHold(sourceKey: string): void {
    this.without.set(sourceKey, true);
  }

  /**
   * Whether a miss that could make this source's mezzanine should: true from the source's second such miss on
   * (in this process, within the hour); the first is made the direct way.
   */
  worthMaking(sourceKey: string): boolean {
    if (this.once.has(sourceKey)) return true;
    this.once.set(sourceKey, true);
    return false;
  }

  /** Forgets what is known of a source (purged: it may have been replaced). */
  forget(sourceKey: string): void {
    this.without.delete(sourceKey);
    this.once.delete(sourceKey);
  }

  /** The stored mezzanine of a source, or null: none, unreadable, or made from a source that has changed since. */
  async find(sourceKey: string): Promise<StoredMezzanine | null> {
    const key = mezzanineKey(sourceKey);
    let stored;
    try {
      stored = await this.store.get(key);
    } catch (err) {
      this.logger.warn({ err, key }, 'mezzanine read failed; the source is read instead');
      return null;
    }
    if (!stored) return null;
    const found = parse(stored.body, stored.metadata);
    if (!found) return null;
    if (await this.revalidator.isOutdated(key, sourceKey, asServed(stored))) return null;
    return found;
  }

  /**
   * The mezzanine of a source just read, made and stored unless one made from the same bytes is there by now; a
   * failed write is logged, the mezzanine still used.
   */
  async make(sourceKey: string, source: LoadedSource, header: Inspected): Promise<StoredMezzanine> {
    const { value } = await this.flights.run(mezzanineKey(sourceKey), async () => {
      // Misses that read the source while another was making the mezzanine find it made, from the same bytes.
      const stored = await this.find(sourceKey);
      if (stored && stored.sourceEtag === source.etag) return stored;
      // Never stored under the ETag of another version than the one decoded.
      const made = await verified(source, makeMezzanine(source.input, this.settings, this.limits));
      this.onMade();
      const mezzanine: StoredMezzanine = { ...made, facts: factsOf(header), sourceEtag: source.etag };
      await this.save(sourceKey, mezzanine);
      return mezzanine;
    });
    return value;
  }

  private async save(sourceKey: string, m: StoredMezzanine): Promise<void> {
    const key = mezzanineKey(sourceKey);
    const metadata = {
      ...derivativeMetadata(m.sourceEtag, creationTime()),
      [SOURCE_WIDTH]: String(m.facts.width), [SOURCE_HEIGHT]: String(m.facts.height), [SOURCE_FORMAT]: m.facts.format, [SOURCE_ORIENTATION]: String(m.facts.orientation),
      [WIDTH]: String(m.width), [HEIGHT]: String(m.height),
    };
    try {
      // Never servable: a near-original copy of the source is not for a file server in front of the store.
      await this.store.put(key, m.body, { contentType: 'image/jpeg', cacheControl: 'private, no-store', metadata, servable: false });
    } catch (err) {
      this.logger.warn({ err, key }, 'mezzanine write failed; made again on a later miss');
    }
  }
}

/** A mezzanine from its stored metadata; null for one whose metadata is incomplete (made by hand, or damaged). */
function parse(body: Buffer, metadata: Record<string, string>): StoredMezzanine | null {
  const n = (k: string) => Number(metadata[k]);
  const [width, height, sw, sh] = [n(WIDTH), n(HEIGHT), n(SOURCE_WIDTH), n(SOURCE_HEIGHT)];
  const sourceEtag = metadata[SOURCE_ETAG];
  const format = metadata[SOURCE_FORMAT];
  if (![width, height, sw, sh].every((x) => Number.isInteger(x) && x > 0) || !sourceEtag || !format) return null;
  return { body, width, height, sourceEtag, facts: { width: sw, height: sh, format: format as SourceFacts['format'], orientation: n(SOURCE_ORIENTATION) || 1 } };
}
