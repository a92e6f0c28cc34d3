import { readFileSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { render, type Rendered } from '../../src/pipeline/index.js';
import type { PipelineLimits } from '../../src/pipeline/limits.js';
import { parseSegment } from '../../src/url/segment.js';
import { FIXTURES } from '../helpers/server.js';
import { DEFAULTS } from '../../src/config/index.js';
import { pipelineLimits } from '../../src/runtime.js';

export const LIMITS: PipelineLimits = pipelineLimits(DEFAULTS);

export function fixture(path: string): Buffer {
  return readFileSync(FIXTURES + path);
}

/** Renders a fixture through the URL grammar and the pipeline, as the service would (no HTTP). */
export function transform(segment: string, path: string | Buffer, limits: Partial<PipelineLimits> = {}): Promise<Rendered> {
  const all = { ...LIMITS, ...limits };
  return render(typeof path === 'string' ? fixture(path) : path, parseSegment(segment, all), all);
}

export interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

/** Decoded RGB (alpha dropped unless asked for) for pixel comparisons. */
export async function raw(img: Buffer | Sharp, keepAlpha = false): Promise<Raw> {
  const s = Buffer.isBuffer(img) ? sharp(img) : img;
  const { data, info } = await (keepAlpha ? s.ensureAlpha() : s.removeAlpha()).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export function pixel(r: Raw, x: number, y: number): number[] {
  const i = (y * r.width + x) * r.channels;
  return [...r.data.subarray(i, i + r.channels)];
}

/** Mean absolute difference per sample, 0–255; images must have the same size and channels. */
export function meanDiff(a: Raw, b: Raw): number {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`size mismatch ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}`);
  }
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d += Math.abs((a.data[i] ?? 0) - (b.data[i] ?? 0));
  return d / a.data.length;
}

/** Mean absolute difference between horizontally adjacent pixels: high for sharp detail, low for blur. */
export function edgeEnergy(r: Raw): number {
  let d = 0;
  for (let y = 0; y < r.height; y++) {
    for (let x = 1; x < r.width; x++) {
      const i = (y * r.width + x) * r.channels;
      d += Math.abs((r.data[i] ?? 0) - (r.data[i - r.channels] ?? 0));
    }
  }
  return d / (r.height * (r.width - 1));
}
