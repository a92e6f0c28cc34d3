import type { OutputFormat, SourceFormat } from './formats.js';

/**
 * What a transform will do, in the terms its cost depends on: known from the source's header and the spec,
 * before any pixel is decoded.
 */
export interface TransformShape {
  source: SourceFormat;
  /** Source page size, oriented as the output will be. */
  width: number;
  height: number;
  /** Frames that will be processed: all of an animation kept animated, else 1. */
  frames: number;
  channels: number;
  bytesPerSample: number;
  /** Progressive JPEG or interlaced PNG: the decoder holds the whole image. */
  progressive: boolean;
  /** JPEG chroma subsampling, e.g. '4:2:0'. */
  chromaSubsampling?: string;
  /** Output page size. */
  output: { width: number; height: number };
  format: OutputFormat;
  /** A step needs the whole resized image at once (attention/entropy crops, trim). */
  wholeImage: boolean;
  /** A quarter turn: sharp rotates before resizing, so nothing shrinks on load and the whole decode is held. */
  quarterTurn: boolean;
}
