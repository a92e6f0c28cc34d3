import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

let srv: TestServer;
let src: string;
before(async () => {
  src = await sourceDir({ 'a.jpg': 'progressive/flower.png.im_q85_420.jpg', '2024/06/cat.png': 'png/dice.png', 'b.jpg': 'orientation/pillow/hopper.jpg' });
  // No hot set: every hit below is read from the cache folder.
  srv = await startTestServer({ source: src, memoryCacheMb: 0 });
});
after(async () => {
  await srv.close();
  await rm(src, { recursive: true, force: true });
});

describe('derivative cache on disk', () => {
  it('stores /{segment}/{key} at {segment}/{key} under the cache root', async () => {
    const res = await fetch(`${srv.url}/200x200/2024/06/cat.png`);
    const body = Buffer.from(await res.arrayBuffer());
    const onDisk = await readFile(join(srv.cacheDir, '200x200/2024/06/cat.png'));
    assert.deepEqual(onDisk, body);
  });

  it('serves the second request from the cache without reading or decoding the source', async () => {
    const first = await fetch(`${srv.url}/300x/a.jpg`);
    assert.equal(first.headers.get('x-cache'), 'MISS');
    const firstBody = Buffer.from(await first.arrayBuffer());
    const transforms = srv.app.stats.transforms;
    await rm(join(src, 'a.jpg'));
    const second = await fetch(`${srv.url}/300x/a.jpg`);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache'), 'HIT');
    assert.match(second.headers.get('server-timing') ?? '', /cache;desc=HIT/);
    assert.deepEqual(Buffer.from(await second.arrayBuffer()), firstBody);
    assert.equal(srv.app.stats.transforms, transforms);
    assert.equal(second.headers.get('content-type'), 'image/jpeg');
  });

  it('canonicalises the segment: equivalent spellings share one file', async () => {
    const a = await fetch(`${srv.url}/0100x0100/b.jpg`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('x-cache'), 'MISS');
    const b = await fetch(`${srv.url}/100x100/b.jpg`);
    assert.equal(b.headers.get('x-cache'), 'HIT');
    const segments = (await readdir(srv.cacheDir)).filter((n) => !n.startsWith('.'));
    assert.ok(segments.includes('100x100'));
    assert.ok(!segments.includes('0100x0100'));
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const get = await fetch(`${srv.url}/100x100/b.jpg`);
    const getBody = Buffer.from(await get.arrayBuffer());
    const head = await fetch(`${srv.url}/100x100/b.jpg`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(getBody.length));
    assert.equal(head.headers.get('etag'), get.headers.get('etag'));
    assert.equal(head.headers.get('content-type'), 'image/jpeg');
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  it('refuses other methods with 405 and Allow', async () => {
    const res = await fetch(`${srv.url}/100x100/b.jpg`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
  });
});

describe('conditional requests', () => {
  it('gives the same strong ETag for the same bytes, a miss and a hit alike', async () => {
    const miss = await fetch(`${srv.url}/64x64/b.jpg`);
    const hit = await fetch(`${srv.url}/64x64/b.jpg`);
    assert.equal(miss.headers.get('x-cache'), 'MISS');
    assert.equal(hit.headers.get('x-cache'), 'HIT');
    assert.ok(!miss.headers.get('etag')?.startsWith('W/'));
    assert.equal(miss.headers.get('etag'), hit.headers.get('etag'));
  });

  it('answers If-None-Match with 304 without touching pixels or the source', async () => {
    const first = await fetch(`${srv.url}/80x80/2024/06/cat.png`);
    const etag = first.headers.get('etag') ?? '';
    await first.arrayBuffer();
    const transforms = srv.app.stats.transforms;
    const saved = await readFile(join(src, '2024/06/cat.png'));
    await rm(join(src, '2024/06/cat.png'));
    try {
      for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const res = await fetch(`${srv.url}/80x80/2024/06/cat.png`, { headers: { 'If-None-Match': inm } });
        assert.equal(res.status, 304, inm);
        assert.equal(res.headers.get('etag'), etag);
        assert.equal((await res.arrayBuffer()).byteLength, 0);
      }
      const changed = await fetch(`${srv.url}/80x80/2024/06/cat.png`, { headers: { 'If-None-Match': '"other"' } });
      assert.equal(changed.status, 200);
      await changed.arrayBuffer();
      assert.equal(srv.app.stats.transforms, transforms);
    } finally {
      await writeFile(join(src, '2024/06/cat.png'), saved);
    }
  });

  it('gives a miss and the later disk hits one Last-Modified', async () => {
    const miss = await fetch(`${srv.url}/70x70/b.jpg`);
    await miss.arrayBuffer();
    // Let the store's own clock move on: the hit must still report the miss's time.
    await new Promise((r) => setTimeout(r, 1100));
    const hit = await fetch(`${srv.url}/70x70/b.jpg`);
    await hit.arrayBuffer();
    assert.equal(hit.headers.get('x-cache'), 'HIT');
    assert.equal(hit.headers.get('last-modified'), miss.headers.get('last-modified'));
  });

  it('answers If-Modified-Since with 304 when the derivative is not newer', async () => {
    const first = await fetch(`${srv.url}/90x90/b.jpg`);
    await first.arrayBuffer();
    const lm = first.headers.get('last-modified') ?? '';
    const res = await fetch(`${srv.url}/90x90/b.jpg`, { headers: { 'If-Modified-Since': lm } });
    assert.equal(res.status, 304);
    const old = await fetch(`${srv.url}/90x90/b.jpg`, { headers: { 'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT' } });
    assert.equal(old.status, 200);
    await old.arrayBuffer();
  });
});

describe('configuration of HTTP caching', () => {
  it('uses the configured Cache-Control', async () => {
    const s = await startTestServer({ source: src, cacheControl: 'public, max-age=60' });
    try {
      const res = await fetch(`${s.url}/50x/b.jpg`);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
      assert.ok((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width === 50);
    } finally {
      await s.close();
    }
  });

  it('with cache "none" stores nothing and transforms every time', async () => {
    const s = await startTestServer({ source: src, cache: 'none', memoryCacheMb: 0 });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${s.url}/40x/b.jpg`);
        assert.equal(res.headers.get('x-cache'), 'MISS');
        await res.arrayBuffer();
      }
      assert.equal(s.app.stats.transforms, 2);
    } finally {
      await s.close();
    }
  });
});
