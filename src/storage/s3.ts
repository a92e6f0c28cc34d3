import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand,
  type GetObjectCommandOutput, type ListObjectsV2CommandInput, type ListObjectsV2CommandOutput, type S3Client,
} from '@aws-sdk/client-s3';
import { contentEtag } from './content-hash.js';
import { BadGateway, NotFound, PayloadTooLarge, quote } from '../errors/index.js';
import { validateKey } from '../keys/index.js';
import {
  isS3NotFound, parseS3Location, s3Failure, type S3Location, type S3Settings,
} from './s3-client.js';
import type {
  DerivativeStore, DerivativeWrite, SourceEntry, SourceInfo, SourceListOptions, SourceObject, SourceReadOptions,
  SourceStore, StoredDerivative,
} from './types.js';

/**
 * User metadata carrying a hash of the bytes, checked on every read: whatever the store did (an emulator's
 * non-atomic write, a truncated transfer), a derivative whose bytes do not match is never served.
 */
const CONTENT_HASH = 'resizer-content-etag';

/** Derivatives are small; this only stops a stray huge object from being buffered. */
const MAX_DERIVATIVE_BYTES = 256 * 1024 * 1024;

/** Shared plumbing of both S3 stores: key mapping, the per-operation deadline, error mapping. */
class S3Bucket {
  readonly location: S3Location;
  readonly description: string;

  constructor(readonly client: S3Client, location: string, readonly settings: S3Settings) {
    this.location = parseS3Location(location);
    this.description = `s3://${this.location.bucket}/${this.location.prefix}`;
  }

  objectKey(key: string): string {
    return this.location.prefix + validateKey(key);
  }

  /** Runs one SDK call (retries included) under the configured deadline; any failure leaves as a typed error. */
  async call<T>(what: string, run: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
    const signal = outer ? AbortSignal.any([outer, AbortSignal.timeout(this.settings.timeoutMs)]) : AbortSignal.timeout(this.settings.timeoutMs);
    try {
      return await run(signal);
    } catch (err) {
      throw s3Failure(err, what, this.settings.timeoutMs);
    }
  }

  /** ListObjectsV2 page after page (ContinuationToken), each fetched only when the previous one is consumed. */
  async *listPages(what: string, input: Omit<ListObjectsV2CommandInput, 'Bucket' | 'ContinuationToken'>): AsyncIterable<ListObjectsV2CommandOutput> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.call(what, (abortSignal) => this.client.send(
        new ListObjectsV2Command({ ...input, Bucket: this.location.bucket, ...(ContinuationToken ? { ContinuationToken } : {}) }),
        { abortSignal },
      ));
      yield page;
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /**
   * Reads a GetObject body whole, refusing it past maxBytes without reading the rest, and refusing a body
   * shorter than its Content-Length (a cut connection must not pass for a small image).
   */
  async readBody(out: GetObjectCommandOutput, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    const body = out.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    if (!body) return Buffer.alloc(0);
    if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
      body.destroy?.();
      throw new PayloadTooLarge(`Source is ${out.ContentLength} bytes, over the limit of ${maxBytes}`);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const onAbort = () => body.destroy?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of body) {
        total += chunk.length;
        if (total > maxBytes) {
          body.destroy?.();
          throw new PayloadTooLarge(`Source is over the limit of ${maxBytes} bytes`);
        }
        chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
    } catch (err) {
      // The stream dies with a generic error when the deadline destroys it; report the deadline.
      if (signal.aborted) throw signal.reason;
      if (err instanceof PayloadTooLarge) throw err;
      throw new BadGateway(`S3 connection broke after ${total} bytes`, { cause: err });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (out.ContentLength !== undefined && total !== out.ContentLength) {
      throw new BadGateway(`S3 sent ${total} of ${out.ContentLength} bytes`);
    }
    return Buffer.concat(chunks, total);
  }
}

function sourceInfo(out: { ContentLength?: number; ETag?: string; LastModified?: Date; ContentType?: string }, size: number): SourceInfo {
  return {
    size,
    etag: out.ETag ?? '""',
    lastModified: out.LastModified ?? new Date(0),
    ...(out.ContentType ? { contentType: out.ContentType } : {}),
  };
}

/** What both S3 stores are made of: one bucket location on the process's shared client. */
abstract class S3Store {
  protected readonly bucket: S3Bucket;
  readonly description: string;

  constructor(client: S3Client, location: string, settings: S3Settings) {
    this.bucket = new S3Bucket(client, location, settings);
    this.description = this.bucket.description;
  }
}

export class S3SourceStore extends S3Store implements SourceStore {

  async head(key: string): Promise<SourceInfo | null> {
    const Key = this.bucket.objectKey(key);
    return this.bucket.call('reading source metadata', async (abortSignal) => {
      try {
        const out = await this.bucket.client.send(new HeadObjectCommand({ Bucket: this.bucket.location.bucket, Key }), { abortSignal });
        return sourceInfo(out, out.ContentLength ?? 0);
      } catch (err) {
        if (isS3NotFound(err)) return null;
        throw err;
      }
    });
  }

  async get(key: string, options: SourceReadOptions): Promise<SourceObject> {
    const Key = this.bucket.objectKey(key);
    return this.bucket.call('reading a source', async (abortSignal) => {
      let out: GetObjectCommandOutput;
      try {
        out = await this.bucket.client.send(new GetObjectCommand({ Bucket: this.bucket.location.bucket, Key }), { abortSignal });
      } catch (err) {
        if (isS3NotFound(err)) throw new NotFound(`No such image: ${quote(key)}`);
        throw err;
      }
      const body = await this.bucket.readBody(out, options.maxBytes, abortSignal);
      return { ...sourceInfo(out, body.length), body };
    }, options.signal);
  }

  async *list(options: SourceListOptions = {}): AsyncIterable<SourceEntry> {
    const base = this.bucket.location.prefix;
    const pages = this.bucket.listPages('listing sources', {
      Prefix: base + (options.prefix ?? ''),
      ...(options.after ? { StartAfter: base + options.after } : {}),
      ...(options.pageSize ? { MaxKeys: options.pageSize } : {}),
    });
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        // Keys ending in "/" are the folder markers consoles create, not images.
        if (!o.Key || o.Key.endsWith('/')) continue;
        yield { key: o.Key.slice(base.length), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
      }
    }
  }
}

export class S3DerivativeStore extends S3Store implements DerivativeStore {

  async get(key: string): Promise<StoredDerivative | null> {
    const Key = this.bucket.objectKey(key);
    return this.bucket.call('reading a derivative', async (abortSignal) => {
      let out: GetObjectCommandOutput;
      try {
        out = await this.bucket.client.send(new GetObjectCommand({ Bucket: this.bucket.location.bucket, Key }), { abortSignal });
      } catch (err) {
        if (isS3NotFound(err)) return null;
        throw err;
      }
      const body = await this.bucket.readBody(out, MAX_DERIVATIVE_BYTES, abortSignal);
      const etag = contentEtag(body);
      const { [CONTENT_HASH]: expected, ...metadata } = out.Metadata ?? {};
      // Damaged, caught mid-write (emulators write in place, object and metadata apart), or not written by
      // resizer: without a matching hash it is as good as missing, so it is made and stored again.
      if (expected !== etag) return null;
      return {
        body,
        etag,
        lastModified: out.LastModified ?? new Date(0),
        contentType: out.ContentType ?? 'application/octet-stream',
        metadata,
      };
    });
  }

  /** One PutObject: S3 makes it visible whole or not at all; Content-MD5 makes S3 refuse bytes damaged on the way. */
  async put(key: string, body: Buffer, write: DerivativeWrite): Promise<void> {
    const Key = this.bucket.objectKey(key);
    await this.bucket.call('writing a derivative', (abortSignal) => this.bucket.client.send(new PutObjectCommand({
      Bucket: this.bucket.location.bucket,
      Key,
      Body: body,
      ContentLength: body.length,
      ContentMD5: createHash('md5').update(body).digest('base64'),
      ContentType: write.contentType,
      ...(write.cacheControl ? { CacheControl: write.cacheControl } : {}),
      Metadata: { ...write.metadata, [CONTENT_HASH]: contentEtag(body) },
    }), { abortSignal }));
  }

  async delete(key: string): Promise<void> {
    const Key = this.bucket.objectKey(key);
    await this.bucket.call('deleting a derivative', (abortSignal) =>
      this.bucket.client.send(new DeleteObjectCommand({ Bucket: this.bucket.location.bucket, Key }), { abortSignal }));
  }

  async *listKeys(keyPrefix: string): AsyncIterable<string> {
    const { prefix } = this.bucket.location;
    for await (const page of this.bucket.listPages('listing derivatives', { Prefix: prefix + keyPrefix })) {
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key.slice(prefix.length);
    }
  }

  async *listSegments(): AsyncIterable<string> {
    const { prefix } = this.bucket.location;
    for await (const page of this.bucket.listPages('listing derivatives', { Prefix: prefix, Delimiter: '/' })) {
      for (const p of page.CommonPrefixes ?? []) {
        if (p.Prefix) yield p.Prefix.slice(prefix.length, -1);
      }
    }
  }
}
