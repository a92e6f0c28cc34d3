import type { Sharp } from 'sharp';
import { DEFAULT_QUALITY } from '../ops/defaults.js';
import type { TransformSpec } from '../ops/spec.js';
import type { OutputFormat } from './formats.js';

/**
 * AVIF effort for a service: sharp's default (4) costs ~8x WebP's time per image; effort 2 keeps most of the
 * size advantage at a fraction of the time. Measured in docs/encoders.md.
 */
export const AVIF_EFFORT = 2;

export type Encoder = (img: Sharp, spec: TransformSpec) => Sharp;

export const ENCODERS: Record<OutputFormat, Encoder> = {
  // mozjpeg's tables and trellis without its scan optimisation, which would force every JPEG progressive.
  jpeg: (img, spec) => img.jpeg({
    quality: spec.quality ?? DEFAULT_QUALITY.jpeg,
    progressive: spec.progressive === true,
    optimiseScans: spec.progressive === true,
    trellisQuantisation: true,
    overshootDeringing: true,
    quantisationTable: 3,
  }),
  png: (img, spec) => img.png({ compressionLevel: 6, adaptiveFiltering: false, progressive: spec.progressive === true }),
  webp: (img, spec) => img.webp({ quality: spec.quality ?? DEFAULT_QUALITY.webp, lossless: spec.lossless === true, effort: 4 }),
  avif: (img, spec) => img.avif({ quality: spec.quality ?? DEFAULT_QUALITY.avif, lossless: spec.lossless === true, effort: AVIF_EFFORT }),
  gif: (img, spec) => img.gif({ progressive: spec.progressive === true }),
};
