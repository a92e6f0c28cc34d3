import type { RequestedFormat } from './spec.js';

/**
 * Encoder qualities when the URL names none. Shared by the encoders and the canonical form, so `webp,q80`
 * and `webp` are one derivative. AVIF's scale is not JPEG's: q60 AVIF matches WebP q80 on SSIM (docs/encoders.md),
 * so `auto` gives every browser the same visual quality, AVIF at fewer bytes.
 */
export const DEFAULT_QUALITY = { jpeg: 80, webp: 80, avif: 60 } as const satisfies Partial<Record<RequestedFormat, number>>;

/** Formats whose encoder takes a quality; PNG and GIF are lossless (palette aside) and ignore it. */
export function usesQuality(format: string): format is keyof typeof DEFAULT_QUALITY {
  return format in DEFAULT_QUALITY;
}
