export interface PipelineLimits {
  maxInputPixels: number;
  maxOutputWidth: number;
  maxOutputHeight: number;
  maxOutputPixels: number;
  /** libvips stops work past this many seconds (sharp's timeout). */
  timeoutSeconds: number;
  /** Accept SVG sources (rasterised); when false they get 415. */
  svg: boolean;
  /** Largest SVG source in bytes (413 above): SVG cost grows with its text, not its pixel size. */
  maxSvgBytes: number;
  /** Most frames an animated output may have (422 above); frames also count into the pixel limits. */
  maxFrames: number;
}

// Defaults live in one place: src/config (DEFAULTS).
