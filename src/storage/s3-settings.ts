// Kept apart from s3-client.ts so that deciding whether a location is S3 does not load the AWS SDK (~90 ms
// of start-up) in servers that only use folders.

/** The S3 settings of the config; credentials, region and endpoint come the AWS way (env, profile, instance role). */
export interface S3Settings {
  forcePathStyle: boolean;
  /** Deadline of one storage operation, retries included. */
  timeoutMs: number;
  /** Attempts per operation (1 = no retry); the SDK backs off between them. */
  maxAttempts: number;
}

export const DEFAULT_S3_SETTINGS: S3Settings = { forcePathStyle: false, timeoutMs: 5000, maxAttempts: 3 };

export function isS3Location(location: string): boolean {
  return location.startsWith('s3://');
}
