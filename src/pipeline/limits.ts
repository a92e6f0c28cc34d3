export interface PipelineLimits {
  maxInputPixels: number;
  maxOutputWidth: number;
  maxOutputHeight: number;
  maxOutputPixels: number;
  /** libvips stops work past this many seconds (sharp's timeout). */
  timeoutSeconds: number;
}
