import type { Metadata, Sharp } from 'sharp';
import type { Rotation, TransformSpec } from '../ops/spec.js';
import type { OutputFormat, SourceFormat } from './formats.js';
import type { ResizePlan } from './geometry.js';
import type { PipelineLimits } from './limits.js';

/** Decisions taken once before the steps run, from the spec, the source's header and the limits. */
export interface RenderPlan {
  format: OutputFormat;
  /** Every frame is decoded and encoded; otherwise only the first frame is read. */
  animated: boolean;
  /** Only 90 and 270: a half turn is a flip plus a flop, which also works on animations. */
  rotate?: Exclude<Rotation, 180>;
  /** Mirrors in sharp's terms (sharp mirrors before it rotates; the URL means after). */
  flip: boolean;
  flop: boolean;
  resize?: ResizePlan;
  /** `contain` padding colour. */
  padding: RGBA;
  /** Colour transparent pixels are flattened onto, when they must be. */
  flatten?: RGBA;
  blurSigma?: number;
}

export interface RGBA {
  r: number;
  g: number;
  b: number;
  alpha: number;
}

/** What every step can read; steps return a new pipeline rather than mutating shared state. */
export interface StepInput {
  spec: TransformSpec;
  meta: Metadata;
  source: SourceFormat;
  limits: PipelineLimits;
  plan: RenderPlan;
}

export interface Step {
  name: string;
  apply(img: Sharp, input: StepInput): Sharp;
}

/** EXIF orientation is always applied: browsers disagree on it, pixels do not. */
export const autoOrient: Step = { name: 'auto-orient', apply: (img) => img.autoOrient() };

export const rotate: Step = {
  name: 'rotate',
  apply: (img, { plan }) => (plan.rotate ? img.rotate(plan.rotate) : img),
};

export const mirror: Step = {
  name: 'mirror',
  apply(img, { plan }) {
    let out = img;
    if (plan.flip) out = out.flip();
    if (plan.flop) out = out.flop();
    return out;
  },
};

export const trim: Step = { name: 'trim', apply: (img, { spec }) => (spec.trim ? img.trim() : img) };

export const resize: Step = {
  name: 'resize',
  apply(img, { spec, plan }) {
    const r = plan.resize;
    if (!r) return img;
    const position = typeof spec.position === 'string' ? spec.position : 'center';
    const out = img.resize({
      width: r.width, height: r.height, fit: r.fit, position, withoutEnlargement: r.withoutEnlargement, background: plan.padding,
    });
    // Called after resize, so sharp crops the resized image.
    return r.extract ? out.extract(r.extract) : out;
  },
};

export const blur: Step = { name: 'blur', apply: (img, { plan }) => (plan.blurSigma ? img.blur(plan.blurSigma) : img) };

export const sharpen: Step = { name: 'sharpen', apply: (img, { spec }) => (spec.sharpen ? img.sharpen() : img) };

export const flatten: Step = {
  name: 'flatten',
  apply: (img, { plan }) => (plan.flatten ? img.flatten({ background: plan.flatten }) : img),
};

/**
 * sharp converts to sRGB (CMYK and ICC-tagged sources included) and strips metadata unless told otherwise;
 * `keepicc` carries the source profile over for wide-gamut displays.
 */
export const colour: Step = { name: 'colour', apply: (img, { spec }) => (spec.keepIcc ? img.keepIccProfile() : img) };

/** Call order for readability; sharp runs its operations in its own fixed order, which these agree with. */
export const STEPS: readonly Step[] = [autoOrient, rotate, mirror, trim, resize, blur, sharpen, flatten, colour];
