import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

async function get(path: string) {
  const res = await fetch(srv.url + path);
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, meta: res.ok ? await sharp(body).metadata() : undefined };
}

describe('GET /{W}x{H}/{key}', () => {
  it('fits inside WxH keeping the aspect ratio (20 MP landscape)', async () => {
    const { res, meta } = await get('/400x300/photos/Kleiber_by_Lukas_Baubkus.jpg');
    assert.equal(res.status, 200);
    // 6028x3391 inside 400x300: width-bound, 400 x round(3391*400/6028) = 225
    assert.equal(meta?.width, 400);
    assert.equal(meta?.height, 225);
    assert.equal(meta?.format, 'jpeg');
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
  });

  it('fits a portrait photo by its height', async () => {
    const { meta } = await get('/400x300/photos/issue70.jpg');
    // 3120x4208 inside 400x300: height-bound
    assert.equal(meta?.height, 300);
    assert.equal(meta?.width, Math.round((3120 * 300) / 4208));
  });

  it('accepts width only and height only', async () => {
    const w = await get('/300x/png/dice.png');
    assert.deepEqual([w.meta?.width, w.meta?.height], [300, 225]);
    const h = await get('/x150/png/dice.png');
    assert.deepEqual([h.meta?.width, h.meta?.height], [200, 150]);
  });

  it('never enlarges', async () => {
    const { meta } = await get('/1000x1000/png/dice.png');
    assert.deepEqual([meta?.width, meta?.height], [800, 600]);
  });

  it('answers in the source format', async () => {
    const png = await get('/100x100/png/dice.png');
    assert.equal(png.meta?.format, 'png');
    assert.equal(png.meta?.hasAlpha, true);
    assert.equal(png.res.headers.get('content-type'), 'image/png');
    const webp = await get('/100x100/webp/1.webp');
    assert.equal(webp.meta?.format, 'webp');
    assert.equal(webp.res.headers.get('content-type'), 'image/webp');
    const avif = await get('/100x100/heif/example.avif');
    assert.equal(avif.meta?.format, 'heif');
    assert.equal(avif.res.headers.get('content-type'), 'image/avif');
  });

  it('serves keys with slashes, spaces and unicode', async () => {
    const src = await sourceDir({ 'my photos/2024/café au lait.png': 'png/dice.png' });
    const other = await startTestServer({ source: src });
    try {
      const res = await fetch(`${other.url}/80x/my%20photos/2024/caf%C3%A9%20au%20lait.png`);
      assert.equal(res.status, 200);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 80, 60]);
      assert.ok((await readdir(join(other.cacheDir, '80x/my photos/2024'))).includes('café au lait.png'));
    } finally {
      await other.close();
      await rm(src, { recursive: true, force: true });
    }
  });

  it('sends the headers a CDN needs', async () => {
    const { res, body } = await get('/120x/png/rgba.png');
    assert.equal(res.headers.get('content-length'), String(body.length));
    assert.match(res.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]+"$/);
    assert.ok(!Number.isNaN(Date.parse(res.headers.get('last-modified') ?? '')));
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('server-timing') ?? '', /cache;desc=(HIT|MISS)/);
  });
});
