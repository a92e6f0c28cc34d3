import type { OutputFormat } from '../pipeline/formats.js';
import type { TransformShape } from '../pipeline/shape.js';

export interface Cost {
  /** Predicted peak memory of the transform, the read source excluded, in bytes. */
  memoryBytes: number;
  /** Predicted CPU time on one core, in milliseconds. */
  cpuMs: number;
}

const MB = 1024 * 1024;
const MP = 1e6;

/**
 * Peak memory per output pixel of each encoder, and its fixed part. mozjpeg's trellis keeps every coefficient
 * of the image; libwebp and libaom take the whole picture and keep their own planes; PNG streams.
 * Fitted on scripts/calibrate-cost.ts (docs/benchmarks.md, "Cost model").
 */
const ENCODER_BYTES_PER_PIXEL: Record<OutputFormat, number> = { jpeg: 7, webp: 8, avif: 16, png: 1, gif: 5 };
const ENCODER_FIXED_BYTES: Record<OutputFormat, number> = { jpeg: 0, webp: 0, avif: 6 * MB, png: 0, gif: 0 };
/** CPU milliseconds per output megapixel at the service's encoder settings. */
const ENCODER_MS_PER_MP: Record<OutputFormat, number> = { jpeg: 35, webp: 80, avif: 90, png: 30, gif: 60 };
/** libvips' own buffers, thread scratch and the sharp pipeline: present in every transform. */
const FIXED_BYTES = 4 * MB;

/**
 * The factor by which the decoder shrinks on load (sharp: JPEG by DCT scaling to 1/2, 1/4, 1/8; WebP to any
 * scale); the rest of the reduction happens after decoding.
 */
export function loadShrink(shape: TransformShape): number {
  if (shape.quarterTurn) return 1;
  const s = Math.max(1, Math.min(shape.width / shape.output.width, shape.height / shape.output.height));
  if (shape.source === 'jpeg') return s >= 8 ? 8 : s >= 4 ? 4 : s >= 2 ? 2 : 1;
  if (shape.source === 'webp') return s;
  return 1;
}

/** JPEG coefficients per pixel: the luma plane plus the subsampled chroma planes. */
function coefficientPlanes(shape: TransformShape): number {
  if (shape.channels === 1) return 1;
  if (shape.channels >= 4) return shape.channels;
  switch (shape.chromaSubsampling) {
    case '4:2:0': return 1.5;
    case '4:2:2': case '4:4:0': return 2;
    default: return 3;
  }
}

/** Bytes the decoder holds at once for the whole image (beyond its streaming strips). */
function decodeBytes(shape: TransformShape): number {
  const px = shape.width * shape.height;
  const sample = shape.channels * shape.bytesPerSample;
  switch (shape.source) {
    // Progressive JPEG: every DCT coefficient (16 bits) of every scan, at full size whatever the shrink.
    case 'jpeg': return shape.progressive ? px * 2 * coefficientPlanes(shape) : 0;
    case 'png': return px * sample * (shape.progressive ? 1.3 : 1);
    // Strips, with libvips' tile cache over them.
    case 'tiff': return px * sample * 0.3;
    case 'webp': return (px / loadShrink(shape) ** 2) * 4;
    // libaom decodes the whole frame into 16-bit planes and keeps reference frames: measured ~18 bytes a pixel.
    case 'avif': case 'heic': return px * 18;
    case 'gif': return px * 4 * 2;
    // SVG is rasterised (in a child process) at about the output's size; the main process gets that raster.
    case 'svg': return shape.output.width * shape.output.height * 4 * 2;
    default: return px * sample;
  }
}

export function predictCost(shape: TransformShape): Cost {
  const shrink = loadShrink(shape);
  const sourcePx = shape.width * shape.height * shape.frames;
  const decodedPx = sourcePx / shrink ** 2;
  const outPx = shape.output.width * shape.output.height * shape.frames;
  const memoryBytes = FIXED_BYTES
    + decodeBytes(shape) * (shape.source === 'gif' ? 1 : shape.frames)
    // The reduce after a shrink-on-load keeps a window of the shrunk image; two bytes a pixel covers it.
    + decodedPx * 2
    + outPx * ENCODER_BYTES_PER_PIXEL[shape.format] + ENCODER_FIXED_BYTES[shape.format]
    + (shape.wholeImage ? outPx * 4 : 0)
    + (shape.quarterTurn ? decodedPx * shape.channels * 0.5 : 0);
  // Entropy decoding runs over every source pixel (progressive scans several times); the rest over the shrunk ones.
  const entropyMsPerMp = shape.source === 'jpeg' ? (shape.progressive ? 9 : 3) : shape.source === 'avif' ? 40 : shape.source === 'png' ? 12 : 6;
  // SVG is drawn in a child process: its start-up is most of the cost of a small SVG.
  const fixedMs = shape.source === 'svg' ? 250 : 2;
  const cpuMs = fixedMs + (sourcePx / MP) * entropyMsPerMp + (decodedPx / MP) * 4 + (outPx / MP) * ENCODER_MS_PER_MP[shape.format];
  return { memoryBytes: Math.round(memoryBytes), cpuMs };
}
