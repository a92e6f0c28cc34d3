import { entryLru } from './lru.js';
import { normalise } from '../ops/normalise.js';
import type { CanonicalSpec, TransformSpec } from '../ops/spec.js';
import { deviceBox, type Size } from '../pipeline/geometry.js';
import { orientedSize, pageSize, type Inspected } from '../pipeline/index.js';

/**
 * Effective-size dedup. Without `enlarge`, a box the source already fits in (`/5000x/` of a 4000 px photo, or
 * any of `/4001x/` … `/8192x/`) renders the source at its own size: byte for byte the image of the same options
 * without a size. Such a request is stored once, under that size-free key (`/5000x,webp/a.jpg` → `webp/a.jpg`,
 * `/5000x/a.jpg` → `original/a.jpg`), so spelling "larger than the source" in 500 ways stores one copy.
 *
 * Only `inside` (the default) and `outside` fits qualify: `contain` pads to the box and `cover`/`fill` may crop,
 * and `trim` makes the size depend on the pixels. SVG is left alone (its header is read only in its child).
 */
export function mayBeUnconstrained(spec: TransformSpec): boolean {
  const sized = spec.width !== undefined || spec.height !== undefined;
  const fit = spec.fit ?? 'inside';
  return sized && spec.enlarge !== true && spec.trim !== true && (fit === 'inside' || fit === 'outside');
}

/** The spec without its size, when the box does not constrain a source of `source` (oriented) size. */
export function sizeFreeIfUnconstrained(spec: TransformSpec, source: Size): CanonicalSpec | undefined {
  if (!mayBeUnconstrained(spec)) return undefined;
  const box = deviceBox(spec);
  const fits = (box.width === undefined || box.width >= source.width) && (box.height === undefined || box.height >= source.height);
  if (!fits) return undefined;
  const { width: _w, height: _h, fit: _f, position: _p, dpr: _d, ...rest } = spec;
  return normalise(rest);
}

/** sizeFreeIfUnconstrained from the header admission already read; never for SVG (its size is read only in its child). */
export function aliasFromHeader(spec: TransformSpec, header: Inspected): CanonicalSpec | undefined {
  const { meta, source } = header;
  if (source === 'svg' || !meta.width || !meta.height || !mayBeUnconstrained(spec)) return undefined;
  return sizeFreeIfUnconstrained(spec, orientedSize(pageSize(meta), meta, spec));
}

/**
 * Derivative keys known to be another key's image: later requests go straight to it, no source read. Kept a
 * minute: a source replaced by a larger one makes the box constrain again, and the next check sees it.
 */
export class AliasMemory {
  private readonly lru = entryLru<string, { key: string; spec: CanonicalSpec }>(50_000, 60_000);

  get(key: string): { key: string; spec: CanonicalSpec } | undefined { return this.lru.get(key); }
  set(key: string, target: { key: string; spec: CanonicalSpec }): void { this.lru.set(key, target); }
  clear(): void { this.lru.clear(); }
}
