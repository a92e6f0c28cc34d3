import assert from 'node:assert/strict';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { after, before, describe, it } from 'node:test';
import { S3DerivativeStore, S3SourceStore } from '../../src/storage/s3.js';
import { parseS3Location } from '../../src/storage/s3-client.js';
import { startS3Server, TEST_S3_SETTINGS, type S3TestServer } from '../helpers/s3-server.js';
import { storeContract } from './contract.js';

let server: S3TestServer | undefined;

storeContract('s3', async () => {
  server = await startS3Server(['contract-sources', 'contract-derivatives']);
  // A short deadline: a read torn by the emulator's in-place writes hangs until it (see tornReadsPossible).
  const settings = { ...TEST_S3_SETTINGS, timeoutMs: 2000 };
  const client = server.client(settings);
  return {
    // Prefixed locations, so the prefix mapping is exercised by every case.
    sources: new S3SourceStore(client, 's3://contract-sources/originals', settings),
    derivatives: new S3DerivativeStore(client, 's3://contract-derivatives/resized/', settings),
    async putSource(key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: 'contract-sources', Key: `originals/${key}`, Body: body, ContentType: contentType }));
    },
    close: async () => { client.destroy(); await server?.close(); },
  };
}, { tornReadsPossible: true });

describe('s3 locations', () => {
  it('parses bucket and prefix', () => {
    assert.deepEqual(parseS3Location('s3://img-sources'), { bucket: 'img-sources', prefix: '' });
    assert.deepEqual(parseS3Location('s3://img-resized/'), { bucket: 'img-resized', prefix: '' });
    assert.deepEqual(parseS3Location('s3://img-resized/a/b/'), { bucket: 'img-resized', prefix: 'a/b/' });
    assert.throws(() => parseS3Location('s3://'), /expected s3:\/\/bucket/);
    assert.throws(() => parseS3Location('s3://Bad_Bucket/x'), /expected s3:\/\/bucket/);
  });
});

describe('s3 derivative layout', () => {
  let s3: S3TestServer;
  before(async () => { s3 = await startS3Server(['layout']); });
  after(async () => { await s3.close(); });

  it('stores {prefix}{segment}/{key} with Content-Type, Cache-Control and the source ETag as metadata', async () => {
    const client = s3.client();
    const store = new S3DerivativeStore(client, 's3://layout/cache', TEST_S3_SETTINGS);
    await store.put('400x300,webp/2024/cat photo.jpg', Buffer.from('webp bytes'), {
      contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable', metadata: { 'source-etag': '"s1"' },
    });
    const raw = await client.send(new GetObjectCommand({ Bucket: 'layout', Key: 'cache/400x300,webp/2024/cat photo.jpg' }));
    assert.equal(raw.ContentType, 'image/webp');
    assert.equal(raw.CacheControl, 'public, max-age=31536000, immutable');
    assert.equal(raw.Metadata?.['source-etag'], '"s1"');
    assert.equal(await raw.Body?.transformToString(), 'webp bytes');
    client.destroy();
  });

  it('a derivative whose bytes do not match its recorded hash is treated as missing, never served', async () => {
    const client = s3.client();
    const store = new S3DerivativeStore(client, 's3://layout', TEST_S3_SETTINGS);
    await client.send(new PutObjectCommand({
      Bucket: 'layout', Key: 'w1/tampered.jpg', Body: Buffer.from('half'), ContentType: 'image/jpeg',
      Metadata: { 'resizer-content-etag': '"not-the-hash-of-these-bytes"' },
    }));
    assert.equal(await store.get('w1/tampered.jpg'), null);
    client.destroy();
  });
});
