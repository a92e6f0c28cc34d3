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

export function isS3Location(location: string): boolean {
  return location.startsWith('s3://');
}

export interface S3Location {
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
}

/** `s3://bucket[/prefix]` → bucket and normalised prefix. */
export function parseS3Location(location: string): S3Location {
  const rest = location.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`Invalid S3 location ${JSON.stringify(location)}: expected s3://bucket[/prefix]`);
  }
  return { bucket, prefix: prefix ? `${prefix}/` : '' };
}
