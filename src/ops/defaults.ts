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

/**
 * Qualities of the miss's fast encode when the background re-encode will follow (a provisional derivative, see
 * src/derive/optimise.ts). The re-encode never stores more bytes than the miss did, so this quality is the floor an
 * image that is hard to compress keeps for good; easy images end at the quality target whatever it is. On the
 * corpus's hardest photo, JPEG q80 (mozjpeg table 3, trellis) scored SSIM 0.936, under what plain libjpeg q80 (ipx)
 * serves, 0.958; q88 scores 0.961. AVIF q60 at effort 0 scored 0.947, more than 0.002 under WebP's lowest (0.9537);
 * q63 scores 0.955. URLs keep their meaning: DEFAULT_QUALITY still says which `qN` is the default, and a server
 * without the re-encode (`--optimise off`, `--cache none`) encodes at it. Measured in docs/encoders.md.
 */
export const PROVISIONAL_QUALITY = { jpeg: 88, webp: 80, avif: 63 } as const satisfies Record<keyof typeof DEFAULT_QUALITY, number>;
