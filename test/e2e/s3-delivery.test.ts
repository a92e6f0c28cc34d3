import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { encodeKey } from '../../src/url/path.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { storedKeyOf } from './s3-keys.js';
import { CACHE_BUCKET, startS3World, type S3World } from './s3-world.js';

let w: S3World;
before(async () => {
  w = await startS3World();
  await w.upload('2024/06/dice.png', 'png/dice.png');
  await w.upload('with space ü.png', 'png/rgba.png');
});
after(async () => { await w.close(); });

async function bytes(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

describe('stream delivery on S3', () => {
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    // No hot sets: every hit below comes from the bucket.
    a = await startTestServer({ memoryCacheMb: 0, cacheControl: 'public, max-age=600' }, { sources: w.sources, derivatives: w.derivatives });
    b = await startTestServer({ memoryCacheMb: 0 }, { sources: w.sources, derivatives: w.derivatives });
  });
  after(async () => { await a.close(); await b.close(); });

  it('stores a miss at {segment}/{key} with Content-Type, Cache-Control and the source ETag', async () => {
    const res = await fetch(`${a.url}/200x150/2024/06/dice.png`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    const body = await bytes(res);
    const meta = await sharp(body).metadata();
    assert.deepEqual([meta.width, meta.height], [200, 150]);

    const stored = await w.stored(storedKeyOf('200x150', '2024/06/dice.png'));
    assert.ok(stored, 'derivative not in the cache bucket at {segment}/{key}');
    assert.ok(stored.body.equals(body));
    assert.equal(stored.contentType, res.headers.get('content-type'));
    assert.equal(stored.cacheControl, 'public, max-age=600');
    assert.equal(stored.metadata['source-etag'], (await w.sources.head('2024/06/dice.png'))?.etag);
  });

  it('another server serves the stored derivative as a HIT without transforming', async () => {
    const first = await bytes(await fetch(`${a.url}/100x100/2024/06/dice.png`));
    const res = await fetch(`${b.url}/100x100/2024/06/dice.png`);
    assert.equal(res.headers.get('x-cache'), 'HIT');
    assert.ok((await bytes(res)).equals(first));
    assert.equal(b.app.stats.transforms, 0);
  });
});

describe('redirect delivery on S3', () => {
  let srv: TestServer;
  const publicBase = () => `${w.s3.endpoint}/${CACHE_BUCKET}`;
  before(async () => {
    srv = await startTestServer({ delivery: 'redirect', publicBase: publicBase() }, { sources: w.sources, derivatives: w.derivatives });
  });
  after(async () => { await srv.close(); });

  it('stores the derivative, then answers 302 to {public base}/{segment}/{key}, which serves it', async () => {
    const res = await fetch(`${srv.url}/80x60/with%20space%20%C3%BC.png`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    const key = storedKeyOf('80x60', 'with space ü.png');
    assert.equal(res.headers.get('location'), `${publicBase()}/${encodeKey(key)}`);
    const stored = await w.stored(key);
    assert.ok(stored);
    // The emulator serves anonymous GETs, like a public bucket or a CDN in front of it.
    const target = await fetch(res.headers.get('location')!);
    assert.equal(target.status, 200);
    assert.equal(target.headers.get('content-type'), 'image/png');
    assert.ok((await bytes(target)).equals(stored.body));
  });

  it('a hit redirects too, and is never regenerated', async () => {
    const first = await fetch(`${srv.url}/90x/2024/06/dice.png`, { redirect: 'manual' });
    assert.equal(first.status, 302);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    const transforms = srv.app.stats.transforms;
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${srv.url}/90x/2024/06/dice.png`, { method, redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('x-cache'), 'HIT');
      assert.equal(res.headers.get('location'), `${publicBase()}/${encodeKey(storedKeyOf('90x', '2024/06/dice.png'))}`);
    }
    // A server whose hot set is empty finds it in the bucket.
    const other = await startTestServer({ delivery: 'redirect', publicBase: publicBase(), memoryCacheMb: 0 }, { sources: w.sources, derivatives: w.derivatives });
    try {
      const res = await fetch(`${other.url}/90x/2024/06/dice.png`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('x-cache'), 'HIT');
      assert.equal(other.app.stats.transforms, 0);
    } finally {
      await other.close();
    }
    assert.equal(srv.app.stats.transforms, transforms);
  });

  it('a missing source is still a 404, not a redirect', async () => {
    const res = await fetch(`${srv.url}/90x/no/such.png`, { redirect: 'manual' });
    assert.equal(res.status, 404);
  });
});
