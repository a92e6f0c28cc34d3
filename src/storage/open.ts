import { FsDerivativeStore, FsSourceStore } from './fs.js';
import type { DerivativeStore, SourceStore } from './types.js';

/** A location string from the config (`./images`, `s3://bucket/prefix`) to a store. */
export function openSourceStore(location: string): SourceStore {
  return new FsSourceStore(location);
}

export function openDerivativeStore(location: string): DerivativeStore | null {
  if (location === 'none') return null;
  return new FsDerivativeStore(location);
}
