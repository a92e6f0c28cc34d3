import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { main } from '../../src/cli/main.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { storedKeyOf } from './s3-keys.js';
import { CACHE_BUCKET, startS3World, type S3World } from './s3-world.js';

let w: S3World;
before(async () => { w = await startS3World(); });
after(async () => { await w.close(); });

async function widthOf(res: Response): Promise<number> {
  return (await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width!;
}

/** HEAD requests that reached S3 for one source key, so far. */
function headsFor(key: string): number {
  return w.proxy.seen.filter((r) => r.method === 'HEAD' && decodeURIComponent(r.url).endsWith(`/${key}`)).length;
}

describe('revalidation against the source ETag', () => {
  // Last-Modified has whole seconds, so a derivative can look up to 1 s older than it is: the steps below leave
  // that much room on both sides of the interval.
  // Long enough that the steps between a miss and its expected hit fit inside it on a loaded machine.
  const INTERVAL_S = 4;
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ revalidateSeconds: INTERVAL_S }, { sources: w.sources, derivatives: w.derivatives });
  });
  after(async () => { await srv.close(); });

  it('serves the stored derivative within the interval, remakes it once the source changed', async () => {
    await w.upload('changing.png', 'png/dice.png');
    const first = await fetch(`${srv.url}/x40/changing.png`);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    const oldWidth = await widthOf(first);
    // Same height, other aspect ratio: the width tells which source a derivative was made from.
    await w.upload('changing.png', 'png/rgba.png');
    const within = await fetch(`${srv.url}/x40/changing.png`);
    assert.equal(within.headers.get('x-cache'), 'HIT');
    assert.equal(await widthOf(within), oldWidth);

    await sleep(INTERVAL_S * 1000 + 100);
    const after = await fetch(`${srv.url}/x40/changing.png`);
    assert.equal(after.headers.get('x-cache'), 'MISS');
    const newWidth = await widthOf(after);
    assert.notEqual(newWidth, oldWidth);
    const stored = await w.stored(storedKeyOf('x40', 'changing.png'));
    assert.equal(stored?.metadata['source-etag'], (await w.sources.head('changing.png'))?.etag);
    const again = await fetch(`${srv.url}/x40/changing.png`);
    assert.equal(again.headers.get('x-cache'), 'HIT');
    assert.equal(await widthOf(again), newWidth);
  });

  it('an unchanged source costs one HEAD per interval and no transform; a failing check serves the stored one', async () => {
    await w.upload('steady.png', 'png/rgba.png');
    await w.upload('flaky.png', 'png/rgba.png');
    assert.equal((await fetch(`${srv.url}/x30/steady.png`)).headers.get('x-cache'), 'MISS');
    assert.equal((await fetch(`${srv.url}/x30/flaky.png`)).headers.get('x-cache'), 'MISS');
    await sleep(INTERVAL_S * 1000 + 100);
    w.proxy.inject({ kind: 'status', status: 500 }, (r) => r.method === 'HEAD' && r.url.endsWith('/flaky.png'));
    try {
      const res = await fetch(`${srv.url}/x30/flaky.png`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache'), 'HIT');
      assert.ok(headsFor('flaky.png') > 0, 'the source was not checked');
    } finally {
      w.proxy.heal();
    }
    const transforms = srv.app.stats.transforms;
    const heads = headsFor('steady.png');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${srv.url}/x30/steady.png`);
      assert.equal(res.headers.get('x-cache'), 'HIT');
      await res.arrayBuffer();
    }
    assert.equal(headsFor('steady.png') - heads, 1);
    assert.equal(srv.app.stats.transforms, transforms);
  });

  it('with revalidation off, a changed source is not noticed (purge is the tool then)', async () => {
    const plain = await startTestServer({}, { sources: w.sources, derivatives: w.derivatives });
    try {
      await w.upload('unchecked.png', 'png/dice.png');
      const width = await widthOf(await fetch(`${plain.url}/x20/unchecked.png`));
      await w.upload('unchecked.png', 'png/rgba.png');
      const heads = headsFor('unchecked.png');
      const res = await fetch(`${plain.url}/x20/unchecked.png`);
      assert.equal(res.headers.get('x-cache'), 'HIT');
      assert.equal(await widthOf(res), width);
      assert.equal(headsFor('unchecked.png'), heads);
    } finally {
      await plain.close();
    }
  });
});

describe('purge', () => {
  it('app.purge deletes the derivatives in every segment and this process\'s hot set', async () => {
    const srv = await startTestServer({}, { sources: w.sources, derivatives: w.derivatives });
    try {
      await w.upload('p/photo.png', 'png/dice.png');
      await w.upload('p/other.png', 'png/dice.png');
      for (const path of ['/50x/p/photo.png', '/x25/p/photo.png', '/50x/p/other.png']) {
        assert.equal((await fetch(`${srv.url}${path}`)).status, 200);
      }
      const deleted = await srv.app.purge('p/photo.png');
      assert.ok(deleted.includes(storedKeyOf('50x', 'p/photo.png')));
      assert.ok(deleted.includes(storedKeyOf('x25', 'p/photo.png')));
      assert.equal(await w.stored(storedKeyOf('50x', 'p/photo.png')), null);
      assert.equal(await w.stored(storedKeyOf('x25', 'p/photo.png')), null);
      assert.ok(await w.stored(storedKeyOf('50x', 'p/other.png')), 'another source\'s derivative was purged');
      const res = await fetch(`${srv.url}/50x/p/photo.png`);
      assert.equal(res.headers.get('x-cache'), 'MISS');
      assert.equal((await fetch(`${srv.url}/50x/p/other.png`)).headers.get('x-cache'), 'HIT');
    } finally {
      await srv.close();
    }
  });

  it('`resizer purge <key>` deletes them from the bucket; other servers\' hot sets let go after their TTL', async () => {
    const TTL_S = 4;
    const srv = await startTestServer({ memoryCacheTtlSeconds: TTL_S }, { sources: w.sources, derivatives: w.derivatives });
    const saved = { ...process.env };
    try {
      await w.upload('cli/cat photo.png', 'png/dice.png');
      assert.equal((await fetch(`${srv.url}/44x/cli/cat%20photo.png`)).headers.get('x-cache'), 'MISS');
      assert.equal((await fetch(`${srv.url}/x33/cli/cat%20photo.png`)).status, 200);

      // The CLI finds S3 the AWS way: endpoint, region and credentials from the environment.
      Object.assign(process.env, w.s3.env);
      const code = await main(['purge', 'cli/cat photo.png', '--cache', `s3://${CACHE_BUCKET}`, '--s3-force-path-style']);
      assert.equal(code, 0);
      assert.equal(await w.stored(storedKeyOf('44x', 'cli/cat photo.png')), null);
      assert.equal(await w.stored(storedKeyOf('x33', 'cli/cat photo.png')), null);

      // This server's hot set still has it until the TTL runs out.
      assert.equal((await fetch(`${srv.url}/44x/cli/cat%20photo.png`)).headers.get('x-cache'), 'HIT');
      await sleep(TTL_S * 1000 + 100);
      assert.equal((await fetch(`${srv.url}/44x/cli/cat%20photo.png`)).headers.get('x-cache'), 'MISS');
    } finally {
      process.env = saved;
      await srv.close();
    }
  });

  it('`resizer purge` refuses a cache of "none" and reports S3 failures', async () => {
    assert.equal(await main(['purge', 'x.png', '--cache', 'none']), 2);
    const saved = { ...process.env };
    try {
      Object.assign(process.env, w.s3.env, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' });
      assert.equal(await main(['purge', 'x.png', '--cache', 's3://nowhere-bucket', '--s3-force-path-style', '--s3-timeout-ms', '500', '--s3-max-attempts', '1']), 1);
    } finally {
      process.env = saved;
    }
  });
});
