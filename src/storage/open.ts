import { FsDerivativeStore, FsSourceStore } from './fs.js';
import { S3DerivativeStore, S3SourceStore } from './s3.js';
import { DEFAULT_S3_SETTINGS, isS3Location, sharedS3Client, type S3Settings } from './s3-client.js';
import type { DerivativeStore, SourceStore } from './types.js';

/** A location string from the config (`./images`, `s3://bucket/prefix`) to a store. */
export function openSourceStore(location: string, s3: S3Settings = DEFAULT_S3_SETTINGS): SourceStore {
  if (isS3Location(location)) return new S3SourceStore(sharedS3Client(s3), location, s3);
  return new FsSourceStore(location);
}

export function openDerivativeStore(location: string, s3: S3Settings = DEFAULT_S3_SETTINGS): DerivativeStore | null {
  if (location === 'none') return null;
  if (isS3Location(location)) return new S3DerivativeStore(sharedS3Client(s3), location, s3);
  return new FsDerivativeStore(location);
}

/** The S3 part of the config, for every store and tool of this process. */
export function s3SettingsOf(config: { s3ForcePathStyle: boolean; s3TimeoutMs: number; s3MaxAttempts: number }): S3Settings {
  return { forcePathStyle: config.s3ForcePathStyle, timeoutMs: config.s3TimeoutMs, maxAttempts: config.s3MaxAttempts };
}
