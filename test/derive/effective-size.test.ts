import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { sizeFreeIfUnconstrained } from '../../src/derive/effective-size.js';
import { rawRequest } from '../helpers/http.js';
import { FIXTURES, startTestServer, type TestServer } from '../helpers/server.js';
import { FsSourceStore } from '../../src/storage/fs.js';
import type { SourceStore } from '../../src/storage/types.js';

// 128x128
const IMAGE = 'orientation/pillow/hopper.jpg';

async function storedKeys(dir: string): Promise<string[]> {
  const segments = (await readdir(dir)).filter((n) => !n.startsWith('.'));
  return segments.sort();
}

describe('effective-size dedup', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer(); });
  after(async () => { await srv.close(); });

  it('every box the source fits in is one stored image, under the size-free key', async () => {
    const bodies: Buffer[] = [];
    for (const seg of ['128x', '129x', '500x', '8192x', 'x300', '200x200', '300x129,outside', '64x,dpr2', '1000x1000']) {
      const res = await rawRequest(srv.url, `/${seg}/${IMAGE}`);
      assert.equal(res.status, 200, seg);
      const meta = await sharp(res.body).metadata();
      assert.deepEqual([meta.width, meta.height], [128, 128], seg);
      bodies.push(res.body);
    }
    assert.ok(bodies.every((b) => b.equals(bodies[0]!)), 'byte-identical');
    assert.deepEqual(await storedKeys(srv.cacheDir), ['original']);
    assert.deepEqual(await readdir(join(srv.cacheDir, 'original/orientation/pillow')), ['hopper.jpg']);
    assert.equal(srv.app.stats.transforms, 1, 'one transform for all of them');
  });

  it('reads the source once for the first request of an alias: the size-free image is made from that read', async () => {
    const fs = new FsSourceStore(FIXTURES);
    let reads = 0;
    const counting: SourceStore = { description: fs.description, head: (k) => fs.head(k), get: (k, o) => { reads++; return fs.get(k, o); } };
    const own = await startTestServer({}, { sources: counting });
    try {
      const res = await rawRequest(own.url, `/700x/${IMAGE}`);
      assert.equal(res.status, 200);
      assert.deepEqual([(await sharp(res.body).metadata()).width, own.app.stats.transforms, reads], [128, 1, 1]);
    } finally {
      await own.close();
    }
  });

  it('keeps the other options: a format makes its own size-free key', async () => {
    const a = await rawRequest(srv.url, `/4000x,webp/${IMAGE}`);
    const b = await rawRequest(srv.url, `/webp/${IMAGE}`);
    assert.equal(a.status, 200);
    assert.ok(a.body.equals(b.body));
    assert.ok((await storedKeys(srv.cacheDir)).includes('webp'));
    assert.ok(!(await storedKeys(srv.cacheDir)).some((s) => s.startsWith('4000x')));
  });

  it('a box that constrains, enlarge, and crops keep their own keys', async () => {
    for (const seg of ['127x', '500x,enlarge', '200x200,cover', '200x200,contain']) {
      assert.equal((await rawRequest(srv.url, `/${seg}/${IMAGE}`)).status, 200, seg);
    }
    const keys = await storedKeys(srv.cacheDir);
    for (const seg of ['127x', '500x,enlarge', '200x200,cover', '200x200,contain']) assert.ok(keys.includes(seg), `${seg} in ${keys.join(' ')}`);
  });

  it('decides on the oriented size', () => {
    assert.deepEqual(sizeFreeIfUnconstrained({ width: 300, format: 'webp' }, { width: 300, height: 200 }), { format: 'webp' });
    assert.equal(sizeFreeIfUnconstrained({ width: 299 }, { width: 300, height: 200 }), undefined);
    assert.equal(sizeFreeIfUnconstrained({ width: 150, dpr: 2 }, { width: 301, height: 200 }), undefined);
    assert.deepEqual(sizeFreeIfUnconstrained({ width: 150, dpr: 2 }, { width: 300, height: 200 }), {});
    assert.equal(sizeFreeIfUnconstrained({ width: 300, height: 300, fit: 'cover' }, { width: 300, height: 200 }), undefined);
    assert.equal(sizeFreeIfUnconstrained({ width: 300, trim: true }, { width: 300, height: 200 }), undefined);
  });
});
