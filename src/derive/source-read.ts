import { sniff } from '../pipeline/formats.js';
import type { SourceInput } from '../pipeline/index.js';
import type { SourceInfo, SourceReadOptions, SourceStore } from '../storage/types.js';

/** A source as the miss path uses it: its version, and what the pipeline opens (bytes, or a local file). */
export interface LoadedSource extends SourceInfo {
  input: SourceInput;
  /** Bytes of it held in this process's memory while it waits and works (admission counts them). */
  heldBytes: number;
  /** Whether what libvips read was the version described; always true for bytes in memory. */
  unchanged(): Promise<boolean>;
}

/** The local file changed while libvips read it: whatever was made from it may mix versions, and is made again. */
export class SourceChanged extends Error {
  constructor() {
    super('source changed while it was read');
  }
}

const ALWAYS = () => Promise.resolve(true);

/**
 * Reads a source for a transform. A store that can hand libvips the file (fs) does so for large sources, unless
 * `bytes` asks for them (the retry after a SourceChanged); an SVG is always read as bytes, for its child process.
 */
export async function loadSource(sources: SourceStore, key: string, options: SourceReadOptions, bytes = false): Promise<LoadedSource> {
  if (!bytes && sources.open) {
    const opened = await sources.open(key, options);
    if (!('path' in opened)) return { ...info(opened), input: opened.body, heldBytes: opened.body.length, unchanged: ALWAYS };
    if (sniff(opened.head) !== 'svg') {
      const { path, head } = opened;
      return { ...info(opened), input: { path, head }, heldBytes: head.length, unchanged: () => opened.unchanged() };
    }
  }
  const read = await sources.get(key, options);
  return { ...info(read), input: read.body, heldBytes: read.body.length, unchanged: ALWAYS };
}

function info(s: SourceInfo): SourceInfo {
  return { size: s.size, etag: s.etag, lastModified: s.lastModified, ...(s.contentType ? { contentType: s.contentType } : {}) };
}

/**
 * `work`'s result, once the source is known to be the version it was read as. A failure over a changed file is
 * reported as the change (the new file may decode fine), so that the caller reads it again.
 */
export async function verified<T>(source: LoadedSource, work: Promise<T>): Promise<T> {
  const result = await failingAsChange(source, work);
  if (!(await source.unchanged())) throw new SourceChanged();
  return result;
}

/**
 * `work`'s failure, reported as the change when the file changed meanwhile. Its success is not checked: for the
 * header pass, whatever is made from the source afterwards is `verified` over the whole window since it was opened.
 */
export async function failingAsChange<T>(source: LoadedSource, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (!(await source.unchanged())) throw new SourceChanged();
    throw err;
  }
}
