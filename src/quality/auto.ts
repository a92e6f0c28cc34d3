import type { CanonicalSpec } from '../ops/spec.js';
import { encodePixels, type Rendered, type RenderedPixels } from '../pipeline/index.js';
import type { PipelineLimits } from '../pipeline/limits.js';
import { searchQuality, type Trial } from './search.js';
import { scorer } from './ssim.js';

/**
 * Quality ranges searched: above them bytes grow for nothing visible; below them luma SSIM is no longer a judge. On
 * flat colour and gradients it passes encodes whose colour has turned blotchy (dice.png in WebP q30: SSIM 0.985,
 * butteraugli 2.8), so the floors are where butteraugli puts the corpus's worst image near 2 (docs/encoders.md).
 */
export const QUALITY_RANGE = { jpeg: [46, 95], webp: [46, 95], avif: [32, 90] } as const;
/** Bisection over a 50-60-value range: 6 encodes (64 outcomes) find the exact answer. */
const MAX_ENCODES = 6;

/** Lossy stills whose quality the URL left open: the only derivatives worth a second encode. */
export function canAutoQuality(spec: CanonicalSpec, image: Pick<Rendered, 'format' | 'frames'>): boolean {
  return spec.quality === undefined && spec.lossless !== true && spec.keepIcc !== true && image.frames === 1 && image.format in QUALITY_RANGE;
}

/**
 * Auto quality: the fewest bytes at best effort whose SSIM against the lossless render reaches the target
 * (null when no quality in the range does). With `provisional` (the bytes served so far), the target is never above
 * their own SSIM: an image whose fast encode already falls short of the target cannot reach it at fewer bytes, but
 * the slower encoder can still match what was served, smaller. `before` runs ahead of each encode (the optimiser
 * waits for idle there).
 */
export async function autoQuality(
  pixels: RenderedPixels, spec: CanonicalSpec, target: number, limits: PipelineLimits,
  o: { provisional?: Buffer; before?: () => Promise<void> } = {},
): Promise<{ best: Trial | null; trials: Trial[] }> {
  const [min, max] = QUALITY_RANGE[pixels.format as keyof typeof QUALITY_RANGE];
  const score = await scorer(pixels.data, pixels.raw);
  const reached = o.provisional ? await score(o.provisional) : 1;
  return searchQuality({
    encode: (quality) => encodePixels(pixels, spec, { quality, best: true }, limits),
    score,
    target: Math.min(target, reached),
    min,
    max,
    maxEncodes: MAX_ENCODES,
    before: o.before,
  });
}
