import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { BadGateway, GatewayTimeout, ResizerError, ServiceUnavailable } from '../errors/index.js';

export { isS3Location, parseS3Location, type S3Location, type S3Settings } from './s3-settings.js';
import { type S3Settings } from './s3-settings.js';

/**
 * One client per distinct settings (in practice one per process), so every store shares its keep-alive
 * connection pool. `extra` is for tests that point a client somewhere else than the environment says.
 */
export function createS3Client(settings: S3Settings, extra: Partial<S3ClientConfig> = {}): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 64 };
  return new S3Client({
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    // The emulators corrupt or refuse bodies sent with the SDK's default trailing checksums; S3 itself accepts both.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Handler options rather than a handler instance: no direct dependency on the SDK's transport package.
    requestHandler: {
      // A connect that hangs (blackholed host) must leave time for another attempt within the deadline.
      connectionTimeout: Math.max(100, Math.floor(settings.timeoutMs / settings.maxAttempts)),
      socketTimeout: settings.timeoutMs,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
    ...extra,
  });
}

const shared = new Map<string, S3Client>();

export function sharedS3Client(settings: S3Settings): S3Client {
  const id = JSON.stringify(settings);
  let client = shared.get(id);
  if (!client) {
    client = createS3Client(settings);
    shared.set(id, client);
  }
  return client;
}

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
  errors?: unknown[];
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);
const TIMED_OUT = new Set(['AbortError', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ETIMEDOUT']);

function codes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 3) return [];
  const e = err as SdkError;
  return [e.name, e.code, ...codes(e.cause, depth + 1), ...(e.errors ?? []).flatMap((x) => codes(x, depth + 1))]
    .filter((c): c is string => typeof c === 'string');
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isS3NotFound(err: unknown): boolean {
  const status = httpStatusOf(err);
  return status === 404 || codes(err).some((c) => c === 'NoSuchKey' || c === 'NotFound');
}

/**
 * Every SDK failure becomes a typed error here, so nothing above the storage layer ever sees an SDK error:
 * slow → 504, unreachable or throttled → 503, anything else S3 said (denied, missing bucket, 5xx) → 502.
 */
export function s3Failure(err: unknown, what: string, timeoutMs: number): ResizerError {
  if (err instanceof ResizerError) return err;
  const found = codes(err);
  const status = httpStatusOf(err);
  if (found.some((c) => TIMED_OUT.has(c))) {
    return new GatewayTimeout(`S3 did not answer within ${timeoutMs} ms while ${what}`, { cause: err });
  }
  if (found.some((c) => UNREACHABLE.has(c))) {
    return new ServiceUnavailable(`S3 unreachable while ${what}`, 5, { cause: err });
  }
  if (status === 503 || found.includes('SlowDown')) {
    return new ServiceUnavailable(`S3 is throttling while ${what}`, 2, { cause: err });
  }
  if (status === 403) {
    return new BadGateway(`S3 denied access while ${what}`, { cause: err, detail: 'HTTP 403: check the credentials and the bucket policy' });
  }
  const name = found[0] ?? 'unknown error';
  return new BadGateway(`S3 error while ${what}`, { cause: err, detail: `${name}${status ? ` (HTTP ${status})` : ''}` });
}
