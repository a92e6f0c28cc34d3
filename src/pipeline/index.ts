import sharp, { type Metadata, type Sharp } from 'sharp';
import { ResizerError, Unprocessable, UnsupportedMediaType, ServiceUnavailable } from '../errors/index.js';
import type { TransformSpec } from '../ops/spec.js';
import { CONTENT_TYPES, defaultOutputFormat, sniff, type OutputFormat, type SourceFormat } from './formats.js';
import type { PipelineLimits } from './limits.js';

export interface Rendered {
  body: Buffer;
  format: OutputFormat;
  contentType: string;
  width: number;
  height: number;
}

/** What every step can read; steps return a new pipeline rather than mutating shared state. */
export interface StepInput {
  spec: TransformSpec;
  meta: Metadata;
  source: SourceFormat;
  limits: PipelineLimits;
}

export interface Step {
  name: string;
  apply(img: Sharp, input: StepInput): Sharp;
}

const NOT_DECODABLE: Partial<Record<SourceFormat, string>> = {
  heic: 'HEIC/HEIF (HEVC) images are not supported by this server\'s libvips',
  jxl: 'JPEG XL images are not supported by this server\'s libvips',
  unknown: 'Unsupported image format',
};

/** Auto-orient from EXIF, then fit inside the box, never enlarging. */
export const autoOrient: Step = { name: 'auto-orient', apply: (img) => img.rotate() };

export const resize: Step = {
  name: 'resize',
  apply(img, { spec }) {
    if (spec.width === undefined && spec.height === undefined) return img;
    return img.resize({ width: spec.width, height: spec.height, fit: 'inside', withoutEnlargement: true });
  },
};

export const STEPS: readonly Step[] = [autoOrient, resize];

export const ENCODERS: Record<OutputFormat, (img: Sharp) => Sharp> = {
  jpeg: (img) => img.jpeg({ quality: 80, mozjpeg: true }),
  png: (img) => img.png({ compressionLevel: 6, adaptiveFiltering: false }),
  webp: (img) => img.webp({ quality: 80, effort: 4 }),
  avif: (img) => img.avif({ quality: 50, effort: 2 }),
  gif: (img) => img.gif(),
};

/** Reads the header only: dimensions, frames, format. Refuses what the limits or libvips cannot take. */
export async function inspect(input: Buffer, limits: PipelineLimits): Promise<{ meta: Metadata; source: SourceFormat }> {
  const source = sniff(input);
  const refusal = NOT_DECODABLE[source];
  if (refusal) throw new UnsupportedMediaType(refusal);
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeError(err);
  }
  const frames = meta.pages ?? 1;
  const pixels = (meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0) * frames;
  if (pixels > limits.maxInputPixels) {
    throw new Unprocessable(`Image is ${meta.width}x${meta.height}${frames > 1 ? `x${frames} frames` : ''}, over the limit of ${limits.maxInputPixels} pixels`);
  }
  return { meta, source };
}

export async function render(input: Buffer, spec: TransformSpec, limits: PipelineLimits, steps: readonly Step[] = STEPS): Promise<Rendered> {
  const { meta, source } = await inspect(input, limits);
  const format = defaultOutputFormat(source, meta.hasAlpha ?? false);
  let img = sharp(input, { limitInputPixels: limits.maxInputPixels, sequentialRead: true }).timeout({ seconds: limits.timeoutSeconds });
  const stepInput: StepInput = { spec, meta, source, limits };
  for (const step of steps) img = step.apply(img, stepInput);
  img = ENCODERS[format](img);
  try {
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    return { body: data, format, contentType: CONTENT_TYPES[format], width: info.width, height: info.height };
  } catch (err) {
    throw decodeError(err);
  }
}

/** libvips' messages mapped to statuses; the message kept short and free of server paths. */
export function decodeError(err: unknown): ResizerError {
  if (err instanceof ResizerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/timeout/i.test(message)) return new ServiceUnavailable('Image took too long to process', 5, { cause: err });
  if (/unsupported image format/i.test(message)) return new UnsupportedMediaType('Unsupported image format', { cause: err });
  if (/pixel limit/i.test(message)) return new Unprocessable('Image is over the pixel limit', { cause: err });
  const first = message.split('\n')[0]?.slice(0, 160) ?? '';
  return new Unprocessable(`Image could not be decoded: ${first}`, { cause: err });
}
