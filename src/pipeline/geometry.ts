import type { Region } from 'sharp';
import type { Fit, FocalPoint, TransformSpec } from '../ops/spec.js';

/**
 * Output geometry worked out before libvips runs, from the source's oriented size: sharp applies its
 * operations in a fixed order, so the focal-point crop and the output limits need the numbers up front.
 */
export interface Size {
  width: number;
  height: number;
}

export interface OutputLimits {
  maxOutputWidth: number;
  maxOutputHeight: number;
  maxOutputPixels: number;
}

/** What the resize step hands to sharp: a box and a fit, and for a focal point the crop after the resize. */
export interface ResizePlan {
  width?: number;
  height?: number;
  fit: Fit;
  withoutEnlargement: boolean;
  /** Post-resize crop around a focal point (sharp crops only by gravity or strategy). */
  extract?: Region;
  /** The size the output will have, limits applied. */
  output: Size;
}

/** The box in device pixels: the CSS box times dpr. */
export function deviceBox(spec: TransformSpec): Partial<Size> {
  const dpr = spec.dpr ?? 1;
  return {
    width: spec.width === undefined ? undefined : Math.round(spec.width * dpr),
    height: spec.height === undefined ? undefined : Math.round(spec.height * dpr),
  };
}

/** The size sharp's resize produces for a source of `src` into `box` (sharp's rules, enlargement included). */
export function fittedSize(src: Size, box: Partial<Size>, fit: Fit, enlarge: boolean): Size {
  const { width: W, height: H } = box;
  const cap = (s: number) => (enlarge ? s : Math.min(s, 1));
  if (W === undefined || H === undefined) {
    const s = cap(W !== undefined ? W / src.width : (H ?? src.height) / src.height);
    return { width: Math.max(1, Math.round(src.width * s)), height: Math.max(1, Math.round(src.height * s)) };
  }
  switch (fit) {
    case 'inside':
    case 'outside': {
      const pick = fit === 'inside' ? Math.min : Math.max;
      const s = cap(pick(W / src.width, H / src.height));
      return { width: Math.max(1, Math.round(src.width * s)), height: Math.max(1, Math.round(src.height * s)) };
    }
    case 'contain':
      return { width: W, height: H };
    case 'cover':
    case 'fill':
      return enlarge ? { width: W, height: H } : { width: Math.min(W, src.width), height: Math.min(H, src.height) };
  }
}

/**
 * The factor (≤ 1) that brings an output inside the limits; frames count into the pixel limit because
 * every frame of an animation is held and encoded.
 */
export function limitFactor(out: Size, frames: number, limits: OutputLimits): number {
  return Math.min(
    1,
    limits.maxOutputWidth / out.width,
    limits.maxOutputHeight / out.height,
    Math.sqrt(limits.maxOutputPixels / (out.width * out.height * frames)),
  );
}

/** The resize for a spec over a source of `src` (after orientation, rotation and trim), or undefined for none. */
export function planResize(spec: TransformSpec, src: Size, frames: number, limits: OutputLimits): ResizePlan | undefined {
  const box = deviceBox(spec);
  const sized = box.width !== undefined || box.height !== undefined;
  const fit: Fit = spec.fit ?? 'inside';
  const enlarge = spec.enlarge === true;
  const out = sized ? fittedSize(src, box, fit, enlarge) : src;
  const f = limitFactor(out, frames, limits);
  if (f < 1) {
    // Too big: ask for the largest output inside the limits, with the same shape and the same crop.
    // The epsilon keeps a side that is exactly at its limit from losing a pixel to floating point.
    const clamped = { width: Math.max(1, Math.floor(out.width * f + 1e-9)), height: Math.max(1, Math.floor(out.height * f + 1e-9)) };
    const keepsShape = fit === 'inside' || fit === 'outside' || box.width === undefined || box.height === undefined;
    return planBox(spec, src, clamped, keepsShape ? 'inside' : fit, enlarge);
  }
  if (!sized) return undefined;
  return planBox(spec, src, box, fit, enlarge);
}

function planBox(spec: TransformSpec, src: Size, box: Partial<Size>, fit: Fit, enlarge: boolean): ResizePlan {
  const position = spec.position;
  if (fit === 'cover' && typeof position === 'object' && box.width !== undefined && box.height !== undefined) {
    return focalCrop(src, { width: box.width, height: box.height }, position, enlarge);
  }
  return { ...box, fit, withoutEnlargement: !enlarge, output: fittedSize(src, box, fit, enlarge) };
}

/**
 * Cover crop centred on a focal point: scale so the box is covered, then cut the box out around the point,
 * moved back inside the image where the point is near an edge.
 */
export function focalCrop(src: Size, box: Size, point: FocalPoint, enlarge: boolean): ResizePlan {
  let s = Math.max(box.width / src.width, box.height / src.height);
  if (!enlarge) s = Math.min(s, 1);
  const scaled = { width: Math.max(1, Math.round(src.width * s)), height: Math.max(1, Math.round(src.height * s)) };
  const width = Math.min(box.width, scaled.width);
  const height = Math.min(box.height, scaled.height);
  const clamp = (v: number, max: number) => Math.max(0, Math.min(max, v));
  const left = clamp(Math.round(point.x * scaled.width - width / 2), scaled.width - width);
  const top = clamp(Math.round(point.y * scaled.height - height / 2), scaled.height - height);
  return { ...scaled, fit: 'fill', withoutEnlargement: false, extract: { left, top, width, height }, output: { width, height } };
}
