import sharp, { type Sharp } from 'sharp';
import { ENCODERS } from '../../src/pipeline/encoders.js';
import type { Format, Transform } from '../workloads.js';

/**
 * The encoder settings the server uses (src/pipeline/encoders.ts, default quality of each format), so that
 * the bare loop, the nginx fallback file and the AVIF/WebP comparison always do exactly the server's encode.
 */
export const encoders = {
  from: 'src/pipeline/encoders.ts',
  encode: (img: Sharp, format: Format): Sharp => ENCODERS[format](img, {}),
};

/** One transform the way the bare loop does it: auto-orient, resize without enlargement, the server's encoder. */
export async function transform(buf: Buffer | string, t: Transform): Promise<{ data: Buffer; width: number; height: number }> {
  const img = encoders.encode(sharp(buf).rotate().resize({ width: t.width, height: t.height, fit: t.fit, withoutEnlargement: true }), t.format);
  const { data, info } = await img.toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
