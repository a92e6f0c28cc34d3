import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3DerivativeStore, S3SourceStore } from '../../src/storage/s3.js';
import type { S3Settings } from '../../src/storage/s3-client.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startS3Server, TEST_S3_SETTINGS, type S3TestServer } from '../helpers/s3-server.js';
import { FIXTURES } from '../helpers/server.js';

export const SOURCE_BUCKET = 'img-sources';
export const CACHE_BUCKET = 'img-resized';

/** The tutorial's two buckets on an emulator, stores reaching it through a fault proxy, and a direct client. */
export interface S3World {
  s3: S3TestServer;
  proxy: FaultProxy;
  /** Talks to the emulator directly (never through the proxy), to set up and inspect. */
  direct: S3Client;
  sources: S3SourceStore;
  derivatives: S3DerivativeStore;
  settings: S3Settings;
  upload(key: string, fixture: string): Promise<void>;
  /** The stored object as S3 has it, or null. */
  stored(key: string): Promise<{ body: Buffer; contentType?: string; cacheControl?: string; metadata: Record<string, string> } | null>;
  close(): Promise<void>;
}

export async function startS3World(settings: Partial<S3Settings> = {}): Promise<S3World> {
  const s3 = await startS3Server([SOURCE_BUCKET, CACHE_BUCKET]);
  const proxy = await startFaultProxy(s3.endpoint);
  const all: S3Settings = { ...TEST_S3_SETTINGS, ...settings };
  const direct = s3.client();
  const client = s3.client(all, { via: proxy.endpoint });
  return {
    s3, proxy, direct, settings: all,
    sources: new S3SourceStore(client, `s3://${SOURCE_BUCKET}`, all),
    derivatives: new S3DerivativeStore(client, `s3://${CACHE_BUCKET}`, all),
    async upload(key, fixture) {
      await direct.send(new PutObjectCommand({ Bucket: SOURCE_BUCKET, Key: key, Body: await readFile(join(FIXTURES, fixture)) }));
    },
    async stored(key) {
      try {
        await direct.send(new HeadObjectCommand({ Bucket: CACHE_BUCKET, Key: key }));
      } catch {
        return null;
      }
      const out = await direct.send(new GetObjectCommand({ Bucket: CACHE_BUCKET, Key: key }));
      return {
        body: Buffer.from(await out.Body!.transformToByteArray()),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
        ...(out.CacheControl ? { cacheControl: out.CacheControl } : {}),
        metadata: out.Metadata ?? {},
      };
    },
    async close() {
      client.destroy();
      direct.destroy();
      await proxy.close();
      await s3.close();
    },
  };
}
