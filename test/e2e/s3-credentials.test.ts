import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResizerError } from '../../src/errors/index.js';
import { S3DerivativeStore, S3SourceStore } from '../../src/storage/s3.js';
import { S3_CREDENTIALS, startS3Server, TEST_S3_SETTINGS, type S3TestServer } from '../helpers/s3-server.js';

// @20minutes/s3rver checks SigV4 signatures on object calls (plain s3rver accepts any). It fails signed bucket
// calls such as ListObjectsV2, so listing is covered by the other tests on s3rver, not here.
let s3: S3TestServer;
before(async () => { s3 = await startS3Server(['signed'], 'sigv4'); });
after(async () => { await s3.close(); });

function is502(err: unknown): boolean {
  return err instanceof ResizerError && err.status === 502 && /S3 denied access/.test(err.message);
}

describe('S3 credentials (signature-checking emulator)', () => {
  it('signed requests with the right secret store and read objects', async () => {
    const client = s3.client();
    try {
      const derivatives = new S3DerivativeStore(client, 's3://signed/resized', TEST_S3_SETTINGS);
      await derivatives.put('w10/ключ с пробелом.png', Buffer.from('png'), { contentType: 'image/png', metadata: { 'source-etag': '"e"' } });
      const got = await derivatives.get('w10/ключ с пробелом.png');
      assert.equal(got?.body.toString(), 'png');
      assert.deepEqual(got?.metadata, { 'source-etag': '"e"' });
      const sources = new S3SourceStore(client, 's3://signed/resized', TEST_S3_SETTINGS);
      assert.equal((await sources.get('w10/ключ с пробелом.png', { maxBytes: 10 })).body.toString(), 'png');
    } finally {
      client.destroy();
    }
  });

  it('a wrong secret is refused, and surfaces as a typed 502, never as an SDK error', async () => {
    const client = s3.client({}, { credentials: { ...S3_CREDENTIALS, secretAccessKey: 'not-the-secret' } });
    try {
      const sources = new S3SourceStore(client, 's3://signed', TEST_S3_SETTINGS);
      const derivatives = new S3DerivativeStore(client, 's3://signed', TEST_S3_SETTINGS);
      await assert.rejects(sources.get('any.png', { maxBytes: 10 }), is502);
      await assert.rejects(sources.head('any.png'), is502);
      await assert.rejects(derivatives.put('w1/any.png', Buffer.from('x'), { contentType: 'image/png' }), is502);
      await assert.rejects(derivatives.get('w1/any.png'), is502);
    } finally {
      client.destroy();
    }
  });
});
