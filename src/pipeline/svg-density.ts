import type { Size } from './geometry.js';

/** SVG's nominal resolution; a larger density rasterises it larger, sharp instead of enlarged. */
export const SVG_DPI = 72;
const MAX_DENSITY = 100_000;
/** The child's exit code for a refusal whose public message is on its stderr (422). */
export const REFUSED_EXIT_CODE = 3;

/** What the rasteriser needs to know of the request: the box in device pixels, and whether the image must cover it. */
export interface SvgTarget {
  box: Partial<Size>;
  /** cover, outside and fill fill the box (the larger ratio); inside and contain fit in it (the smaller). */
  grow: boolean;
}

/**
 * The density at which to rasterise an SVG so it is as large as the box needs (at most the input pixel
 * limit): a vector source is never upscaled from its nominal size. Pure, so the child process that reads the
 * SVG's header can work it out itself: the parent never parses the SVG.
 */
export function svgDensity(target: SvgTarget, nominal: Size, maxPixels: number): number {
  const { box } = target;
  const ratios = [box.width && box.width / nominal.width, box.height && box.height / nominal.height].filter((r): r is number => !!r);
  if (!ratios.length) return SVG_DPI;
  const wanted = target.grow ? Math.max(...ratios) : Math.min(...ratios);
  const fits = Math.sqrt(maxPixels / (nominal.width * nominal.height));
  let scale = Math.min(wanted, fits, MAX_DENSITY / SVG_DPI);
  // librsvg rounds the rasterised size; stay under the pixel limit whichever way it rounds.
  while (scale > 1 && Math.ceil(nominal.width * scale) * Math.ceil(nominal.height * scale) > maxPixels) scale *= 0.999;
  return scale <= 1 ? SVG_DPI : SVG_DPI * scale;
}
