import type { Sharp } from 'sharp';
import { ENCODER_OPTIONS, type Format } from '../workloads.js';

type Encoder = (img: Sharp, spec: Record<string, unknown>) => Sharp;

/**
 * The encoder settings the server uses, taken from src/pipeline/encoders.ts when it is there (so that the bare
 * loop and the AVIF/WebP comparison always do exactly the server's encode), else the bench's own copy.
 * The module is loaded by a computed specifier so that a rename there does not break the bench's type check.
 */
export async function loadEncoders(): Promise<{ from: string; encode(img: Sharp, format: Format): Sharp }> {
  const specifier = ['..', '..', 'src', 'pipeline', 'encoders.js'].join('/');
  try {
    const mod = (await import(specifier)) as { ENCODERS?: Record<string, Encoder> };
    const table = mod.ENCODERS;
    if (table?.jpeg && table.webp && table.avif) {
      return { from: 'src/pipeline/encoders.ts', encode: (img, format) => (table[format] as Encoder)(img, {}) };
    }
  } catch {
    // fall through
  }
  return {
    from: 'bench/workloads.ts (ENCODER_OPTIONS)',
    encode: (img, format) => (format === 'jpeg' ? img.jpeg(ENCODER_OPTIONS.jpeg) : format === 'webp' ? img.webp(ENCODER_OPTIONS.webp) : img.avif(ENCODER_OPTIONS.avif)),
  };
}
