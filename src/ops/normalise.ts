import { DEFAULT_QUALITY, usesQuality } from './defaults.js';
import { GRAVITIES, type CanonicalSpec, type Gravity, type Position, type TransformSpec } from './spec.js';

/**
 * The canonical form of a spec: defaults and options that cannot change the output are dropped, so every
 * spelling that renders the same image builds the same derivative key. The renderer reads the same fields
 * under the same conditions, so dropping them here never changes a pixel.
 */
export function normalise(input: TransformSpec): CanonicalSpec {
  const spec: TransformSpec = { ...input };
  if (spec.fit === 'inside') delete spec.fit;
  if (spec.position === 'center') delete spec.position;
  if (spec.dpr === 1) delete spec.dpr;

  const sized = spec.width !== undefined || spec.height !== undefined;
  if (!sized) {
    delete spec.fit;
    delete spec.dpr;
    delete spec.enlarge;
  }
  // With one side given every fit keeps the aspect ratio: they all mean `inside` (or `outside`, the same thing).
  if (spec.width === undefined || spec.height === undefined) delete spec.fit;
  // Only a crop chooses what to keep; `contain` places the whole image, so only a compass gravity means anything.
  const positioned = spec.fit === 'cover' || (spec.fit === 'contain' && isGravity(spec.position));
  if (!positioned) delete spec.position;

  const format = spec.format;
  if (format !== undefined && format !== 'auto') {
    if (!usesQuality(format) || (format !== 'jpeg' && spec.lossless)) delete spec.quality;
    else if (spec.quality === DEFAULT_QUALITY[format]) delete spec.quality;
    if (format !== 'webp' && format !== 'avif') delete spec.lossless;
    if (format === 'webp' || format === 'avif') delete spec.progressive;
  }
  return spec as CanonicalSpec;
}

function isGravity(p: Position | undefined): p is Gravity {
  return typeof p === 'string' && (GRAVITIES as readonly string[]).includes(p);
}
