/**
 * The encoder corpus (bench/corpus/MANIFEST.tsv) and what every encoder script measures it with: one geometry, and
 * the same colour planes.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import sharp, { type SharpOptions } from 'sharp';
import { DEFAULTS } from '../../src/config/index.js';
import type { CanonicalSpec } from '../../src/ops/spec.js';
import { renderPixels, type RenderedPixels } from '../../src/pipeline/index.js';
import { pipelineLimits } from '../../src/runtime.js';
import { parseSegment } from '../../src/url/segment.js';

export const ROOT = new URL('../../', import.meta.url).pathname;

export interface CorpusImage {
  /** Path from the repository's root. */
  path: string;
  kind: string;
  /** File name, for tables. */
  name: string;
}

/** The corpus, optionally only the paths containing `only`. */
export function corpusImages(only?: string): CorpusImage[] {
  return readFileSync(ROOT + 'bench/corpus/MANIFEST.tsv', 'utf8').split('\n').slice(1).filter(Boolean).map((line) => {
    const [path = '', kind = ''] = line.split('\t');
    return { path, kind, name: path.split('/').pop() ?? path };
  }).filter((c) => !only || c.path.includes(only));
}

/**
 * 800x600 cover, or the largest 4:3 box inside a smaller source: resizers disagree on a box larger than the source
 * (ipx crops to its aspect, we keep the source), and the metrics need one geometry.
 */
export async function boxOf(source: Buffer): Promise<{ box: string; alpha: boolean }> {
  const { width = 800, height = 600, hasAlpha = false } = await sharp(source).metadata();
  const scale = Math.min(1, width / 800, height / 600);
  return { box: `${Math.floor(800 * scale)}x${Math.floor(600 * scale)}`, alpha: hasAlpha };
}

export type MeasuredFormat = 'jpeg' | 'webp' | 'avif';

export interface CorpusRender {
  image: CorpusImage;
  source: Buffer;
  box: string;
  /** The source has transparency (ipx flattens it onto black for JPEG, which every metric against white calls ruined). */
  alpha: boolean;
  format: MeasuredFormat;
  spec: CanonicalSpec;
  /** The lossless render of `spec`: the reference every encoding of it is scored against. */
  pixels: RenderedPixels;
}

/** Each image in each format as `{box},cover,{format}`, with its lossless render, image after image. */
export async function* corpusRenders(images: CorpusImage[], formats: readonly MeasuredFormat[] = ['jpeg', 'webp', 'avif']): AsyncGenerator<CorpusRender> {
  const limits = pipelineLimits(DEFAULTS);
  for (const image of images) {
    const source = readFileSync(ROOT + image.path);
    const { box, alpha } = await boxOf(source);
    for (const format of formats) {
      const spec = parseSegment(`${box},cover,${format}`, DEFAULTS);
      yield { image, source, box, alpha, format, spec, pixels: await renderPixels(source, spec, limits) };
    }
  }
}

export interface Planes {
  y: Uint8Array;
  cb: Uint8Array;
  cr: Uint8Array;
  width: number;
  height: number;
  /** The RGB the planes came from, 3 channels. */
  rgb: Buffer;
}

/** Y, Cb and Cr (BT.601, full range) of an image with alpha flattened onto white, optionally resized to `size` first. */
export async function planesOf(input: Buffer, raw?: SharpOptions['raw'], size?: { width: number; height: number }): Promise<Planes> {
  let img = sharp(input, raw ? { raw } : {}).flatten({ background: '#ffffff' }).removeAlpha().toColourspace('srgb');
  if (size) img = img.resize(size.width, size.height, { fit: 'fill' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const y = new Uint8Array(n);
  const cb = new Uint8Array(n);
  const cr = new Uint8Array(n);
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < n; i++) {
    const r = data[i * info.channels] ?? 0, g = data[i * info.channels + 1] ?? 0, b = data[i * info.channels + 2] ?? 0;
    y[i] = byte(0.299 * r + 0.587 * g + 0.114 * b);
    cb[i] = byte(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
    cr[i] = byte(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
  }
  return { y, cb, cr, width: info.width, height: info.height, rgb: data };
}

/** Writes planes' RGB as a PNG, the input butteraugli_main reads. */
export async function writePng(p: Planes, file: string): Promise<string> {
  await sharp(p.rgb, { raw: { width: p.width, height: p.height, channels: 3 } }).png({ compressionLevel: 1 }).toFile(file);
  return file;
}

const run = promisify(execFile);

/**
 * Butteraugli's 3-norm (lower is better, ~1 barely visible) of two PNGs, by libjxl's butteraugli_main (Debian's
 * libjxl-devtools; a measuring tool only, not a dependency of the service or its tests). ~0.3 s at 800x600.
 */
export async function butteraugli(reference: string, candidate: string): Promise<number> {
  const { stdout } = await run('butteraugli_main', [reference, candidate]);
  const m = /3-norm:\s*([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`butteraugli_main printed no 3-norm: ${stdout}`);
  return Number(m[1]);
}
