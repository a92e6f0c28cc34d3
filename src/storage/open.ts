import { FsDerivativeStore, FsSourceStore } from './fs.js';
import { isS3Location, type S3Settings } from './s3-settings.js';
import type { HttpSourceOptions } from './http.js';
import type { DerivativeStore, SourceStore } from './types.js';

/** A location string from the config (`./images`, `s3://bucket/prefix`, `https://origin/images`) to a store; the AWS SDK loads only for S3. */
export async function openSourceStore(location: string, s3: S3Settings, http: HttpSourceOptions = {}): Promise<SourceStore> {
  if (/^https?:\/\//i.test(location)) return new (await import('./http.js')).HttpSourceStore(location, http);
  if (!isS3Location(location)) return new FsSourceStore(location);
  const [{ S3SourceStore }, { sharedS3Client }] = await Promise.all([import('./s3.js'), import('./s3-client.js')]);
  return new S3SourceStore(sharedS3Client(s3), location, s3);
}

export async function openDerivativeStore(location: string, s3: S3Settings): Promise<DerivativeStore | null> {
  if (location === 'none') return null;
  if (!isS3Location(location)) return new FsDerivativeStore(location);
  const [{ S3DerivativeStore }, { sharedS3Client }] = await Promise.all([import('./s3.js'), import('./s3-client.js')]);
  return new S3DerivativeStore(sharedS3Client(s3), location, s3);
}

/** The HTTP-source part of the config. */
export function httpSourceOptionsOf(config: { httpSourceHosts: string; httpSourceAllowLoopback: boolean; httpSourceTimeoutMs: number }): HttpSourceOptions {
  return {
    allowedHosts: config.httpSourceHosts.split(',').map((h) => h.trim()).filter(Boolean),
    allowLoopback: config.httpSourceAllowLoopback,
    timeoutMs: config.httpSourceTimeoutMs,
  };
}

/** The S3 part of the config, for every store and tool of this process. */
export function s3SettingsOf(config: { s3ForcePathStyle: boolean; s3TimeoutMs: number; s3MaxAttempts: number }): S3Settings {
  return { forcePathStyle: config.s3ForcePathStyle, timeoutMs: config.s3TimeoutMs, maxAttempts: config.s3MaxAttempts };
}
