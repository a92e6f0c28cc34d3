/** The typed result of parsing a transform segment. Absent fields mean "the default". */
export interface TransformSpec {
  /** Target box in CSS pixels (before dpr). */
  width?: number;
  height?: number;
  /** How the image fits the box; default `inside`. */
  fit?: Fit;
  /** Which part survives a `cover` crop (or where a `contain` image sits); default `center`. */
  position?: Position;
  /** Output format; `auto` is resolved from the Accept header before the derivative key is built. */
  format?: RequestedFormat;
  /** 1–100; absent means the encoder's default for the output format. */
  quality?: number;
  /** Device pixel ratio, 1–4: multiplies the box. */
  dpr?: number;
  /** Gaussian blur sigma in CSS pixels. */
  blur?: number;
  sharpen?: true;
  /** Clockwise, after EXIF orientation. */
  rotate?: Rotation;
  /** Mirror top-bottom, after rotation. */
  flip?: true;
  /** Mirror left-right, after rotation. */
  flop?: true;
  /** `rrggbb`, lower case: fills transparent areas and `contain` padding. */
  background?: string;
  trim?: true;
  /** Allow the output to be larger than the source. */
  enlarge?: true;
  progressive?: true;
  lossless?: true;
  keepIcc?: true;
}

declare const canonical: unique symbol;
/**
 * A spec in canonical form (src/ops/normalise.ts): only normalise() makes one, so a function that takes it knows
 * normalising has happened, once, upstream.
 */
export type CanonicalSpec = TransformSpec & { readonly [canonical]: true };

export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const;
export type Fit = (typeof FITS)[number];

export const GRAVITIES = ['north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center'] as const;
export type Gravity = (typeof GRAVITIES)[number];
export type Strategy = 'attention' | 'entropy';
/** Focal point as fractions of the (oriented) source, 0–1 from the top-left corner. */
export interface FocalPoint {
  x: number;
  y: number;
}
export type Position = Gravity | Strategy | FocalPoint;

export const ROTATIONS = [90, 180, 270] as const;
export type Rotation = (typeof ROTATIONS)[number];

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const;
export type RequestedFormat = (typeof OUTPUT_FORMATS)[number] | 'auto';

/** Limits the parser needs to refuse impossible requests early (400), before any I/O. */
export interface ParseLimits {
  maxOutputWidth: number;
  maxOutputHeight: number;
}

export function isFocalPoint(p: Position | undefined): p is FocalPoint {
  return typeof p === 'object';
}
