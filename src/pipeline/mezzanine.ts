import sharp, { type Sharp } from 'sharp';
import type { Gravity, TransformSpec } from '../ops/spec.js';
import { ENCODERS, type EncodeTuning } from './encoders.js';
import { CONTENT_TYPES, defaultOutputFormat, type OutputFormat, type SourceFormat } from './formats.js';
import type { ResizePlan, Size } from './geometry.js';
import { decodeError, openable, orientedSize, pageSize, planRender, type Inspected, type Rendered, type SourceInput } from './index.js';
import type { PipelineLimits } from './limits.js';
import type { TransformShape } from './shape.js';
import { blur, flatten, sharpen, type RenderPlan } from './steps.js';

/**
 * The mezzanine: one high-quality intermediate per source (oriented, sRGB, at most `longSide` px), from which the
 * smaller derivatives are made instead of decoding the whole source again (issue 14, docs/benchmarks.md "srcset").
 * The geometry of every derivative is worked out on the source's size and scaled onto the mezzanine, so a
 * derivative made from it has the same size and crop as one made from the source.
 */
export interface MezzanineSettings {
  longSide: number;
  /** JPEG quality of the mezzanine (chroma kept whole: it is encoded once and decoded for every size). */
  quality: number;
}

/** What a derivative of the source depends on that the mezzanine's pixels no longer tell. */
export interface SourceFacts {
  /** Oriented (EXIF applied) size of the source. */
  width: number;
  height: number;
  format: SourceFormat;
  /** EXIF orientation (1–8): which edges a JPEG's shrink-on-load drops, in the oriented image. */
  orientation: number;
}

export interface Mezzanine {
  body: Buffer;
  width: number;
  height: number;
}

/**
 * The output may ask for at most this fraction of the mezzanine's pixels along each axis (over the region it
 * shows): above it, resampling an already resampled, lossy image loses detail the direct path keeps.
 */
export const MAX_MEZZANINE_SCALE = 0.5;

export function factsOf({ meta, source }: Inspected): SourceFacts {
  return { ...orientedSize(pageSize(meta), meta, {}), format: source, orientation: meta.orientation ?? 1 };
}

/**
 * Sources a mezzanine can stand in for: 8-bit, opaque stills larger than the mezzanine. Deep colour would be
 * lost to 8 bits, alpha to JPEG, frames to a still; SVG is drawn at each output's size anyway. A baseline JPEG
 * is decoded at 1/2 to 1/8 of its size in the DCT domain, cheaply: through a mezzanine the srcset workload ran
 * at 0.7× of direct (20 MP photo), so it is left to the direct path (docs/benchmarks.md, "srcset").
 */
export function canHoldSource({ meta, source }: Inspected, settings: MezzanineSettings): boolean {
  if (source === 'svg' || (meta.pages ?? 1) > 1 || (meta.depth ?? 'uchar') !== 'uchar' || meta.hasAlpha) return false;
  if (source === 'jpeg' && !meta.isProgressive) return false;
  const { width, height } = pageSize(meta);
  return Math.max(width, height) > settings.longSide;
}

/**
 * Made from the whole decode, without sharp's fast shrink-on-load (which leaves less than a factor of 2 to the
 * resampler): every later size inherits its quality.
 */
export async function makeMezzanine(input: SourceInput, settings: MezzanineSettings, limits: PipelineLimits): Promise<Mezzanine> {
  const L = settings.longSide;
  try {
    const { data, info } = await sharp(openable(input), { limitInputPixels: limits.maxInputPixels, sequentialRead: true })
      .timeout({ seconds: limits.timeoutSeconds })
      .autoOrient()
      .resize({ width: L, height: L, fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: false })
      // No trellis quantisation: it took 370 of 170 ms per 2048 px mezzanine (20 MP and 16 MP photos) for 13% fewer
      // bytes, and the mezzanine is read by resizer alone.
      // Nor optimised Huffman tables: they need the whole image's coefficients in memory at once (peak +94 against
      // +70 MiB over the process, 16 MP progressive source) for 2% fewer bytes; the pixels are the same either way.
      .jpeg({ quality: settings.quality, chromaSubsampling: '4:4:4', optimiseCoding: false })
      .toBuffer({ resolveWithObject: true });
    return { body: data, width: info.width, height: info.height };
  } catch (err) {
    throw decodeError(err);
  }
}

/** How a derivative is made from the mezzanine: the direct path's resize, crop and padding, in output pixels. */
export interface MezzaninePlan {
  format: OutputFormat;
  render: RenderPlan;
  /** The part of the mezzanine that stands for what the direct path decodes of the source (see sharpLoad). */
  region: { left: number; top: number; width: number; height: number };
  /** The size that region is resized to: the size the direct path resizes the source to. */
  content: Size;
  /** The whole pixels the direct path cuts from the resized image (cover by gravity, focal point). */
  extract?: { left: number; top: number; width: number; height: number };
  /** Contain: the content is placed in the box at these offsets, with the padding colour around it. */
  embed?: { box: Size; left: number; top: number };
  /** Attention/entropy: sharp's strategy crops the resized image to this box, as on the direct path. */
  strategy?: { box: Size; position: 'attention' | 'entropy' };
}

/** Why a derivative is made from the source, not the mezzanine (each one tested in test/derive/mezzanine.test.ts). */
export type Fallback = 'lossless' | 'keepicc' | 'trim' | 'rotation' | 'resolution';

/** Where a gravity puts the crop or the content, as fractions of the slack on each axis. */
const GRAVITY_AT: Record<Gravity, [number, number]> = {
  north: [0.5, 0], northeast: [1, 0], east: [1, 0.5], southeast: [1, 1], south: [0.5, 1],
  southwest: [0, 1], west: [0, 0.5], northwest: [0, 0], center: [0.5, 0.5],
};

/** The spec's format when it names one, else the source's (the mezzanine's own format never shows). */
function formatFor(spec: TransformSpec, facts: SourceFacts): OutputFormat {
  return spec.format && spec.format !== 'auto' ? spec.format : defaultOutputFormat(facts.format, false);
}

/** The options that need the source's own bytes whatever the size. */
export function specFallback(spec: TransformSpec, facts?: SourceFacts): Fallback | undefined {
  if (spec.lossless || (facts && formatFor(spec, facts) === 'png')) return 'lossless';
  if (spec.keepIcc) return 'keepicc';
  // Trim's edges are found in the pixels: the mezzanine's would not be the source's.
  if (spec.trim) return 'trim';
  // Measured: a quarter turn from the mezzanine lost up to 0.006 SSIM against the direct path (r270 with flip,
  // south crops), past the 0.002 allowed; the cause is not found yet, so those go to the source.
  if (spec.rotate === 90 || spec.rotate === 270) return 'rotation';
  return undefined;
}

/**
 * The plan for a derivative of a source of `facts` made from a mezzanine of `mezz` size, or the reason it must
 * be made from the source. The geometry is the direct path's (planRender over the source's size): the mezzanine
 * is resized to the size the source would be, and the same whole pixels are cut from it. A crop worked out on the
 * mezzanine's own size instead lands a fraction of a pixel off, which costs SSIM on textured images.
 */
export function planFromMezzanine(spec: TransformSpec, facts: SourceFacts, mezz: Size, limits: PipelineLimits): MezzaninePlan | Fallback {
  const refused = specFallback(spec, facts);
  if (refused) return refused;
  const format = formatFor(spec, facts);
  const work = turned(facts, spec);
  const mezzWork = turned(mezz, spec);
  const render = planRender(spec, work, format, 1, limits);
  const r = render.resize;
  if (!r) return 'resolution';
  const load = sharpLoad(work, facts.format, r);
  const shown = resizeOf(spec, r, work, load.loaded);
  if (!shown) return 'resolution';
  if (shown.content.width > MAX_MEZZANINE_SCALE * mezzWork.width || shown.content.height > MAX_MEZZANINE_SCALE * mezzWork.height) return 'resolution';
  return { format, render, region: keptRegion(load, work, mezzWork, facts.orientation), ...shown };
}

/** A size as the requested quarter turn leaves it (the source's and the mezzanine's are oriented already). */
function turned(size: Size, spec: TransformSpec): Size {
  return spec.rotate === 90 || spec.rotate === 270 ? { width: size.height, height: size.width } : { width: size.width, height: size.height };
}

type Resize = Pick<MezzaninePlan, 'content' | 'extract' | 'embed' | 'strategy'>;

/** The direct path's resize in sharp's own whole-pixel terms; undefined when it enlarges. */
function resizeOf(spec: TransformSpec, r: ResizePlan, work: Size, loaded: Size): Resize | undefined {
  // Focal point: the direct path scales to (r.width × r.height), then cuts r.extract out of that.
  if (r.extract) return { content: { width: r.width ?? work.width, height: r.height ?? work.height }, extract: r.extract };
  const content = sharpResizedSize(loaded, r);
  if (content.width > work.width || content.height > work.height) return undefined;
  if (r.fit === 'cover' && r.width !== undefined && r.height !== undefined) {
    const out = r.output;
    const position = spec.position;
    if (position === 'attention' || position === 'entropy') return { content, strategy: { box: out, position } };
    // sharp's CalculateCrop: halves round up.
    const [fx, fy] = GRAVITY_AT[typeof position === 'string' ? position : 'center'];
    const at = (slack: number, f: number) => (f === 0.5 ? Math.floor((slack + 1) / 2) : f * slack);
    return { content, extract: { left: at(content.width - out.width, fx), top: at(content.height - out.height, fy), ...out } };
  }
  if (r.fit === 'contain' && r.width !== undefined && r.height !== undefined) {
    const [fx, fy] = GRAVITY_AT[typeof spec.position === 'string' && spec.position in GRAVITY_AT ? spec.position as Gravity : 'center'];
    // sharp's CalculateEmbedPosition: halves round down.
    const at = (slack: number, f: number) => (f === 0.5 ? Math.floor(slack / 2) : f * slack);
    const box = r.output;
    return { content, embed: { box, left: at(box.width - content.width, fx), top: at(box.height - content.height, fy) } };
  }
  return { content };
}

/** sharp's name for each fit (its Canvas), which decides how the two axes' shrinks are combined. */
const CANVAS: Record<ResizePlan['fit'], 'crop' | 'embed' | 'max' | 'min' | 'ignore'> = {
  cover: 'crop', contain: 'embed', inside: 'max', outside: 'min', fill: 'ignore',
};

/** sharp's ResolveShrink (src/common.cc): the shrink of each axis for a target box. */
function resolveShrink(size: Size, r: ResizePlan): [number, number] {
  const canvas = CANVAS[r.fit];
  let h = 1;
  let v = 1;
  if (r.width !== undefined && r.height !== undefined) {
    h = size.width / r.width;
    v = size.height / r.height;
    if (canvas === 'crop' || canvas === 'min') h = v = Math.min(h, v);
    else if (canvas === 'embed' || canvas === 'max') h = v = Math.max(h, v);
  } else if (r.width !== undefined) {
    h = size.width / r.width;
    if (canvas !== 'ignore') v = h;
  } else if (r.height !== undefined) {
    v = size.height / r.height;
    if (canvas !== 'ignore') h = v;
  }
  if (r.withoutEnlargement) {
    h = Math.max(1, h);
    v = Math.max(1, v);
  }
  return [Math.min(h, size.width), Math.min(v, size.height)];
}

/** What the direct path's decoder hands to the resize: the shrink-on-load factor, and the size it loads. */
export interface Load {
  shrink: number;
  loaded: Size;
}

/**
 * sharp's shrink-on-load (src/pipeline.cc): a JPEG is decoded at 1/2, 1/4 or 1/8 when the resize allows, and
 * libvips 8.18 rounds each side down (measured), dropping the last partial block of pixels on the right and the
 * bottom of the stored image. The rest of the shrink is then worked out again on the loaded size, so an output
 * side can differ by a pixel from the plain scaled size. Quarter turns never get here (they turn the load shrink
 * off; see specFallback); flips do not change it.
 */
export function sharpLoad(work: Size, format: SourceFormat, r: ResizePlan): Load {
  if (r.extract) return { shrink: 1, loaded: work };
  const [h, v] = resolveShrink(work, r);
  const shrink = Math.min(h, v);
  if (format === 'jpeg') {
    let k = shrink >= 8 ? 8 : shrink >= 4 ? 4 : shrink >= 2 ? 2 : 1;
    // sharp's guard against libjpeg's rounding errors.
    if (k > 1 && Math.trunc(shrink) === k) k /= 2;
    return { shrink: k, loaded: { width: Math.floor(work.width / k), height: Math.floor(work.height / k) } };
  }
  if (format === 'webp' && shrink > 1) return { shrink, loaded: { width: Math.round(work.width / shrink), height: Math.round(work.height / shrink) } };
  return { shrink: 1, loaded: work };
}

/** The size sharp resizes the loaded image to (its ResolveShrink, then libvips' rounding). */
function sharpResizedSize(loaded: Size, r: ResizePlan): Size {
  const [h, v] = resolveShrink(loaded, r);
  return { width: Math.max(1, Math.round(loaded.width / h)), height: Math.max(1, Math.round(loaded.height / v)) };
}

/**
 * Which corner of the oriented image the decoded part keeps (the stored image's top-left), by EXIF orientation:
 * as fractions of the slack on each axis.
 */
const KEPT_CORNER: Record<number, [number, number]> = { 1: [0, 0], 2: [1, 0], 3: [1, 1], 4: [0, 1], 5: [0, 0], 6: [1, 0], 7: [1, 1], 8: [0, 1] };

/**
 * The region of the (oriented) mezzanine that shows what the direct path's decoder kept of the source: all of it,
 * or without the partial blocks a JPEG shrink-on-load drops (at the stored image's right and bottom, which EXIF
 * orientation may have moved). libvips then fits that whole region to the output's rounded size, as resizing the
 * region with `fill` does.
 */
export function keptRegion(load: Load, work: Size, mezz: Size, orientation: number): { left: number; top: number; width: number; height: number } {
  const kept = { width: load.loaded.width * load.shrink, height: load.loaded.height * load.shrink };
  const [fx, fy] = KEPT_CORNER[orientation] ?? [0, 0];
  const width = Math.min(mezz.width, Math.max(1, Math.round(kept.width * (mezz.width / work.width))));
  const height = Math.min(mezz.height, Math.max(1, Math.round(kept.height * (mezz.height / work.height))));
  return { left: fx * (mezz.width - width), top: fy * (mezz.height - height), width, height };
}

/**
 * What admission prices a render from the mezzanine as: a baseline JPEG of the mezzanine's size. It is decoded
 * whole (the pre-resize extract turns shrink-on-load off) but streamed, so the model's shrink-on-load guess only
 * understates the few milliseconds of a 2048 px decode; its memory is the encoder's, as for any output.
 */
export function mezzanineShape(plan: MezzaninePlan, mezz: Size): TransformShape {
  return {
    source: 'jpeg', width: mezz.width, height: mezz.height, frames: 1, channels: 3, bytesPerSample: 1, progressive: false,
    output: plan.embed?.box ?? plan.strategy?.box ?? plan.extract ?? plan.content, format: plan.format,
    wholeImage: plan.strategy !== undefined,
    quarterTurn: false,
  };
}

/** Renders a derivative from the mezzanine by its plan. */
export async function renderFromMezzanine(mezz: Buffer, spec: TransformSpec, plan: MezzaninePlan, limits: PipelineLimits, tuning?: EncodeTuning): Promise<Rendered> {
  const { render } = plan;
  try {
    let img = oriented(sharp(mezz, { limitInputPixels: limits.maxInputPixels, sequentialRead: true }).timeout({ seconds: limits.timeoutSeconds }), render)
      // A pre-resize extract also turns shrink-on-load off, whose blur the direct path pays once and a
      // mezzanine's derivatives would pay twice.
      .extract(plan.region)
      .resize({ width: plan.content.width, height: plan.content.height, fit: 'fill' });
    // Called after resize: sharp cuts the resized (and mirrored) image, as the direct path's crop does.
    if (plan.extract) img = img.extract(plan.extract);
    if (plan.strategy) {
      const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
      img = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
        .timeout({ seconds: limits.timeoutSeconds })
        .resize({ ...plan.strategy.box, fit: 'cover', position: plan.strategy.position });
    }
    if (plan.embed) {
      const { box, left, top } = plan.embed;
      img = img.extend({ left, top, right: box.width - plan.content.width - left, bottom: box.height - plan.content.height - top, background: render.padding });
    }
    const stepInput = { spec, meta: {} as never, source: 'jpeg' as const, limits, plan: render };
    for (const step of [blur, sharpen, flatten]) img = step.apply(img, stepInput);
    const { data, info } = await ENCODERS[plan.format](img, spec, tuning).toBuffer({ resolveWithObject: true });
    return { body: data, format: plan.format, contentType: CONTENT_TYPES[plan.format], width: info.width, height: info.height, frames: 1 };
  } catch (err) {
    throw decodeError(err);
  }
}

function oriented(img: Sharp, render: RenderPlan): Sharp {
  let out = img;
  if (render.rotate) out = out.rotate(render.rotate);
  if (render.flip) out = out.flip();
  if (render.flop) out = out.flop();
  return out;
}
