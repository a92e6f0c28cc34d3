import sharp, { type Metadata, type Sharp, type SharpOptions } from 'sharp';
import { InternalError, PayloadTooLarge, ResizerError, TransformTimeout, Unprocessable, UnsupportedMediaType } from '../errors/index.js';
import { MAX_BLUR_SIGMA } from '../ops/table.js';
import type { CanonicalSpec, TransformSpec } from '../ops/spec.js';
import { ENCODERS, type EncodeTuning } from './encoders.js';
import { CONTENT_TYPES, canAnimate, defaultOutputFormat, hasAlphaChannel, sniff, type OutputFormat, type SourceFormat } from './formats.js';
import type { TransformShape } from './shape.js';
import { deviceBox, planResize, type Size } from './geometry.js';
import type { PipelineLimits } from './limits.js';
import { STEPS, type RenderPlan, type RGBA, type StepInput } from './steps.js';
import { rasteriseSvg, type Raster } from './svg-process.js';

export { ENCODERS, type EncodeTuning } from './encoders.js';
export { STEPS, type Step, type StepInput } from './steps.js';

export interface Rendered {
  body: Buffer;
  format: OutputFormat;
  contentType: string;
  width: number;
  height: number;
  /** Frames of an animated output (1 for a still). */
  frames: number;
}

const NOT_DECODABLE: Partial<Record<SourceFormat, string>> = {
  heic: 'HEIC/HEIF (HEVC) images are not supported by this server\'s libvips',
  jxl: 'JPEG XL images are not supported by this server\'s libvips',
  unknown: 'Unsupported image format',
};

/**
 * A source for the pipeline: its bytes, or a local file libvips opens by name with the file's first bytes, from
 * which its format is told before libvips parses anything (an SVG must come as bytes: it is drawn in a child process).
 */
export type SourceInput = Buffer | { path: string; head: Buffer };

const headOf = (input: SourceInput): Buffer => (Buffer.isBuffer(input) ? input : input.head);
/** What sharp opens: the bytes, or the file by its name. */
export const openable = (input: SourceInput): Buffer | string => (Buffer.isBuffer(input) ? input : input.path);

/** Reads the header only: dimensions, frames, format. Refuses what the limits or libvips cannot take. */
export async function inspect(input: SourceInput, limits: PipelineLimits): Promise<{ meta: Metadata; source: SourceFormat }> {
  const source = sniff(headOf(input));
  const refusal = NOT_DECODABLE[source];
  if (refusal) throw new UnsupportedMediaType(refusal);
  // The SVG's header is read by the child process that draws it, under its time and memory bounds.
  if (source === 'svg') return { meta: refuseSvg(svgBytes(input), limits), source };
  let meta: Metadata;
  try {
    meta = await sharp(openable(input), { limitInputPixels: false }).metadata();
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

function svgBytes(input: SourceInput): Buffer {
  if (!Buffer.isBuffer(input)) throw new InternalError('An SVG source reached the pipeline as a file, not as its bytes');
  return input;
}

/** SVG is a program more than a picture: its cost follows its text, so it is bounded by bytes (and by the timeout). */
function refuseSvg(input: Buffer, limits: PipelineLimits): Metadata {
  if (!limits.svg) throw new UnsupportedMediaType('SVG sources are switched off on this server');
  const max = limits.maxSvgBytes;
  if (input.length > max) throw new PayloadTooLarge(`SVG source is ${input.length} bytes, over the limit of ${max}`);
  // What the rest of the pipeline asks of an SVG's header: one page, drawn with alpha, no EXIF orientation.
  // Its size is unknown here (admission prices an SVG as one pixel; the raster's size is bounded by the pixel limit).
  return { format: 'svg', pages: 1, hasAlpha: true } as Metadata;
}

export type Inspected = Awaited<ReturnType<typeof inspect>>;

export function outputFormatOf(spec: TransformSpec, { meta, source }: Inspected): OutputFormat {
  return spec.format && spec.format !== 'auto' ? spec.format : defaultOutputFormat(source, meta.hasAlpha ?? false);
}

const BYTES_PER_SAMPLE: Record<string, number> = { uchar: 1, char: 1, ushort: 2, short: 2, uint: 4, int: 4, float: 4, complex: 8, double: 8, dpcomplex: 16 };

/**
 * The transform's shape from the header alone, for admission to price it before any pixel is decoded.
 * Trim is priced at the untrimmed size (an upper bound: trimming only shrinks).
 */
export function describeTransform(inspected: Inspected, spec: TransformSpec, limits: PipelineLimits): TransformShape {
  const { meta, source } = inspected;
  const format = outputFormatOf(spec, inspected);
  const frames = animates(spec, meta, format, limits) ? meta.pages ?? 1 : 1;
  const size = pageSize(meta);
  const work = orientedSize(size, meta, spec);
  const output = planResize(spec, work, frames, limits)?.output ?? work;
  return {
    source,
    width: work.width,
    height: work.height,
    frames,
    channels: meta.channels ?? 3,
    bytesPerSample: BYTES_PER_SAMPLE[meta.depth ?? 'uchar'] ?? 1,
    progressive: meta.isProgressive ?? false,
    chromaSubsampling: meta.chromaSubsampling,
    output,
    format,
    wholeImage: spec.trim === true || spec.position === 'attention' || spec.position === 'entropy',
    quarterTurn: spec.rotate === 90 || spec.rotate === 270,
  };
}

/**
 * Renders a source; `inspected` is its header pass when the caller already made it (admission does); `tuning`
 * says the encode is provisional (a miss the background re-encode will replace).
 */
export async function render(input: SourceInput, spec: CanonicalSpec, limits: PipelineLimits, inspected?: Inspected, tuning?: EncodeTuning): Promise<Rendered> {
  const { img, format, frames } = await prepare(input, spec, limits, inspected);
  try {
    const { data, info } = await ENCODERS[format](img, spec, tuning).toBuffer({ resolveWithObject: true });
    return { body: data, format, contentType: CONTENT_TYPES[format], width: info.width, height: info.height / frames, frames };
  } catch (err) {
    throw decodeError(err);
  }
}

/** A render's pixels before encoding, for the quality search to encode again and again (single frame only). */
export interface RenderedPixels {
  data: Buffer;
  raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
  format: OutputFormat;
}

export async function renderPixels(input: SourceInput, spec: CanonicalSpec, limits: PipelineLimits, inspected?: Inspected): Promise<RenderedPixels> {
  const { img, format } = await prepare(input, spec, limits, inspected);
  try {
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    return { data, raw: { width: info.width, height: info.height, channels: info.channels }, format };
  } catch (err) {
    throw decodeError(err);
  }
}

/** Encodes rendered pixels as the spec's format, with the search's quality and effort. */
export async function encodePixels(pixels: RenderedPixels, spec: CanonicalSpec, tuning: EncodeTuning, limits: PipelineLimits): Promise<Buffer> {
  const img = sharp(pixels.data, { raw: pixels.raw }).timeout({ seconds: limits.timeoutSeconds });
  return ENCODERS[pixels.format](img, spec, tuning).toBuffer();
}

/** The pipeline up to the encoder: opened, sized and stepped. */
async function prepare(input: SourceInput, spec: CanonicalSpec, limits: PipelineLimits, inspected?: Inspected): Promise<{ img: Sharp; format: OutputFormat; frames: number }> {
  const header = inspected ?? await inspect(input, limits);
  const { meta, source } = header;
  const format = outputFormatOf(spec, header);
  const animated = animates(spec, meta, format, limits);
  try {
    const { open, size } = source === 'svg' ? await openSvg(svgBytes(input), spec, limits) : openImage(input, meta, limits, animated);
    const work = spec.trim ? await trimmedSize(open, spec, limits) : orientedSize(size, meta, spec);
    const frames = animated ? meta.pages ?? 1 : 1;
    const plan = planRender(spec, work, format, frames, limits);
    let img = open().timeout({ seconds: limits.timeoutSeconds });
    const stepInput: StepInput = { spec, meta, source, limits, plan };
    for (const step of STEPS) img = step.apply(img, stepInput);
    return { img, format, frames };
  } catch (err) {
    throw decodeError(err);
  }
}

/** A fresh pipeline over the decoded source (sharp pipelines are single-use), and the source's page size. */
interface Opened {
  open: () => Sharp;
  size: Size;
}

function openImage(input: SourceInput, meta: Metadata, limits: PipelineLimits, animated: boolean): Opened {
  const options: SharpOptions = { limitInputPixels: limits.maxInputPixels, sequentialRead: true, animated };
  return { open: () => sharp(openable(input), options), size: pageSize(meta) };
}

/** SVG is drawn in a child process with a hard time limit; the pipeline then works on its pixels. */
async function openSvg(input: Buffer, spec: TransformSpec, limits: PipelineLimits): Promise<Opened> {
  const grow = spec.fit === 'cover' || spec.fit === 'outside' || spec.fit === 'fill';
  let raster: Raster;
  try {
    raster = await rasteriseSvg(input, { box: deviceBox(spec), grow }, limits.maxInputPixels, limits.timeoutSeconds);
  } catch (err) {
    throw decodeError(err);
  }
  const { width, height, channels } = raster.info;
  return { open: () => sharp(raster.data, { raw: { width, height, channels } }), size: { width, height } };
}

/**
 * An animation stays one when the output can hold frames and no step needs a single frame
 * (libvips cannot rotate, trim or smart-crop a multi-page image); otherwise the first frame is served.
 */
function animates(spec: TransformSpec, meta: Metadata, format: OutputFormat, limits: PipelineLimits): boolean {
  const frames = meta.pages ?? 1;
  if (frames < 2 || !canAnimate(format)) return false;
  const singleFrameOnly = spec.trim || spec.rotate === 90 || spec.rotate === 270
    || spec.position === 'attention' || spec.position === 'entropy';
  if (singleFrameOnly) return false;
  const max = limits.maxFrames;
  if (frames > max) throw new Unprocessable(`Animation has ${frames} frames, over the limit of ${max}`);
  return true;
}

export function pageSize(meta: Metadata): Size {
  return { width: meta.width ?? 1, height: meta.pageHeight ?? meta.height ?? 1 };
}

/** The source's size as the URL sees it: EXIF orientation applied, then the requested quarter turn. */
export function orientedSize(size: Size, meta: Metadata, spec: TransformSpec): Size {
  const swapExif = (meta.orientation ?? 1) >= 5;
  const swapTurn = spec.rotate === 90 || spec.rotate === 270;
  return swapExif !== swapTurn ? { width: size.height, height: size.width } : size;
}

/** Trim's result depends on the pixels, so a first pass finds it; only requests with `trim` pay for it. */
async function trimmedSize(open: () => Sharp, spec: TransformSpec, limits: PipelineLimits): Promise<Size> {
  let img = open().timeout({ seconds: limits.timeoutSeconds }).autoOrient();
  if (spec.rotate === 90 || spec.rotate === 270) img = img.rotate(spec.rotate);
  const { info } = await img.trim().extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height };
}

const WHITE: RGBA = { r: 255, g: 255, b: 255, alpha: 1 };
const TRANSPARENT: RGBA = { r: 255, g: 255, b: 255, alpha: 0 };

export function planRender(spec: TransformSpec, work: Size, format: OutputFormat, frames: number, limits: PipelineLimits): RenderPlan {
  const background = spec.background ? hexToRgba(spec.background) : undefined;
  // A half turn is both mirrors; a quarter turn swaps them, because sharp mirrors before it rotates.
  const halfTurn = spec.rotate === 180;
  const quarterTurn = spec.rotate === 90 || spec.rotate === 270;
  const flip = (spec.flip === true) !== halfTurn;
  const flop = (spec.flop === true) !== halfTurn;
  const dpr = spec.width !== undefined || spec.height !== undefined ? spec.dpr ?? 1 : 1;
  return {
    format,
    animated: frames > 1,
    rotate: quarterTurn ? (spec.rotate as 90 | 270) : undefined,
    flip: quarterTurn ? flop : flip,
    flop: quarterTurn ? flip : flop,
    resize: planResize(spec, work, frames, limits),
    padding: background ?? (hasAlphaChannel(format) ? TRANSPARENT : WHITE),
    flatten: background ?? (hasAlphaChannel(format) ? undefined : WHITE),
    blurSigma: spec.blur === undefined ? undefined : Math.min(spec.blur * dpr, MAX_BLUR_SIGMA),
  };
}

function hexToRgba(hex: string): RGBA {
  const n = Number.parseInt(hex, 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255, alpha: 1 };
}

/** libvips' messages mapped to statuses; the message kept short and free of server paths. */
export function decodeError(err: unknown): ResizerError {
  if (err instanceof ResizerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // A property of the image, not of the load: retrying will not help, so not a 503.
  if (/timeout/i.test(message)) return new TransformTimeout('Image took too long to process', { cause: err });
  if (/unsupported image format/i.test(message)) return new UnsupportedMediaType('Unsupported image format', { cause: err });
  if (/pixel limit/i.test(message)) return new Unprocessable('Image is over the pixel limit', { cause: err });
  return new Unprocessable('Image could not be decoded', { cause: err, detail: message.split('\n')[0]?.slice(0, 160) });
}
