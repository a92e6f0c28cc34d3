import type { Sharp } from 'sharp';
import { DEFAULT_QUALITY, PROVISIONAL_QUALITY } from '../ops/defaults.js';
import type { TransformSpec } from '../ops/spec.js';
import type { OutputFormat } from './formats.js';

/**
 * AVIF effort for a service: sharp's default (4) takes ~25x WebP's time per image for 14% fewer bytes than
 * effort 0, which encodes as fast as WebP at 61% of its bytes. Efforts 1 and 2 cost 2.6x and 4.6x effort 0's
 * time for no gain. Measured in docs/encoders.md.
 */
export const AVIF_EFFORT = 0;

/**
 * Efforts of the background re-encode (src/derive/optimise.ts), where time is cheap and bytes are served for a
 * year: AVIF effort 4 saves ~20% of effort 0's bytes at equal SSIM for ~10x the time (docs/encoders.md). WebP stays
 * at 4: effort 6 saved 1.5% on a photo, but took 100x as long on images with alpha (44 s for one 800x600 encode
 * on a loaded machine), and a background step cannot be interrupted once started.
 */
export const BEST_EFFORT = { webp: 4, avif: 4 } as const;

/**
 * AVIF chroma subsampling, miss and re-encode alike. 4:2:0 (libvips' own default, and what WebP always does) saved 5%
 * of the corpus's AVIF bytes at equal luma SSIM but lowered its worst chroma SSIM from 0.893 to 0.873
 * (docs/encoders.md): not taken, the bytes are not saved at equal quality.
 */
export const AVIF_CHROMA: '4:4:4' | '4:2:0' = '4:4:4';

/** What the quality search overrides: a quality the URL did not name, and the slow, small encoder settings. */
export interface EncodeTuning {
  quality?: number;
  best?: boolean;
  /** The miss's encode of a derivative the background re-encode will replace: PROVISIONAL_QUALITY when the URL named none. */
  provisional?: boolean;
}

/** The quality to encode at: the search's, the URL's, else the default (the provisional one ahead of a re-encode). */
function qualityOf(format: keyof typeof DEFAULT_QUALITY, spec: TransformSpec, t?: EncodeTuning): number {
  return t?.quality ?? spec.quality ?? (t?.provisional ? PROVISIONAL_QUALITY : DEFAULT_QUALITY)[format];
}

export type Encoder = (img: Sharp, spec: TransformSpec, tuning?: EncodeTuning) => Sharp;

export const ENCODERS: Record<OutputFormat, Encoder> = {
  // mozjpeg's tables and trellis without its scan optimisation, which would force every JPEG progressive.
  jpeg: (img, spec, t) => img.jpeg({
    quality: qualityOf('jpeg', spec, t),
    progressive: spec.progressive === true,
    optimiseScans: spec.progressive === true,
    trellisQuantisation: true,
    overshootDeringing: true,
    quantisationTable: 3,
  }),
  png: (img, spec) => img.png({ compressionLevel: 6, adaptiveFiltering: false, progressive: spec.progressive === true }),
  webp: (img, spec, t) => img.webp({
    quality: qualityOf('webp', spec, t), lossless: spec.lossless === true, effort: t?.best ? BEST_EFFORT.webp : 4,
  }),
  avif: (img, spec, t) => img.avif({
    quality: qualityOf('avif', spec, t), lossless: spec.lossless === true, effort: t?.best ? BEST_EFFORT.avif : AVIF_EFFORT,
    chromaSubsampling: spec.lossless === true ? '4:4:4' : AVIF_CHROMA,
  }),
  gif: (img, spec) => img.gif({ progressive: spec.progressive === true }),
};
