import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SOURCE = 'orientation/pillow/hopper.jpg'; // 128x128 JPEG
const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

describe('transform options over HTTP', () => {
  let server: TestServer;
  before(async () => { server = await startTestServer(); });
  after(async () => { await server.close(); });

  async function get(path: string, headers: Record<string, string> = {}) {
    const res = await fetch(server.url + path, { headers });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  it('auto picks AVIF, then WebP, then the source format, with Vary: Accept and one derivative each', async () => {
    const path = `/100x80,cover,auto/${SOURCE}`;
    const cases: [string | undefined, string, string][] = [
      [CHROME, 'image/avif', '100x80,cover,avif'],
      ['image/webp,*/*', 'image/webp', '100x80,cover,webp'],
      ['image/png,*/*;q=0.8', 'image/jpeg', '100x80,cover'],
      [undefined, 'image/jpeg', '100x80,cover'],
    ];
    for (const [accept, type, segment] of cases) {
      const { res, body } = await get(path, accept ? { Accept: accept } : {});
      assert.equal(res.status, 200, accept);
      assert.equal(res.headers.get('content-type'), type, accept);
      assert.equal(res.headers.get('vary'), 'Accept');
      const meta = await sharp(body).metadata();
      assert.deepEqual([meta.width, meta.height], [100, 80]);
      assert.ok(existsSync(join(server.cacheDir, segment, SOURCE)), `derivative stored under ${segment}/`);
    }
    // The fourth request found the third's derivative: the same key, not a new transform.
    assert.equal(server.app.stats.transforms, 3);
    const again = await get(path, { Accept: CHROME });
    assert.equal(again.res.headers.get('x-cache'), 'HIT');
    const explicit = await get(`/100x80,cover,avif/${SOURCE}`);
    assert.equal(explicit.res.headers.get('x-cache'), 'HIT', 'auto shares the explicit derivative');
    assert.equal(explicit.res.headers.get('vary'), null, 'an explicit format does not vary');
    const revalidated = await get(path, { Accept: CHROME, 'If-None-Match': again.res.headers.get('etag') ?? '' });
    assert.equal(revalidated.res.status, 304);
    assert.equal(revalidated.res.headers.get('vary'), 'Accept');
  });

  it('the issue example composes: 300x200,cover,attention,webp,q70', async () => {
    const { res, body } = await get('/300x200,cover,attention,webp,q70/photos/issue70.jpg');
    assert.equal(res.status, 200);
    const meta = await sharp(body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 300, 200]);
    const q95 = await get('/300x200,cover,attention,webp,q95/photos/issue70.jpg');
    assert.ok(q95.body.length > body.length * 1.3, 'q70 is applied');
  });

  it('equivalent spellings are one derivative', async () => {
    const first = await get(`/w64,h64,cover,smart,jpg,q80/${SOURCE}`);
    const second = await get(`/64x64,cover,attention,jpeg/${SOURCE}`);
    assert.equal(first.res.headers.get('x-cache'), 'MISS');
    assert.equal(second.res.headers.get('x-cache'), 'HIT');
    assert.ok(existsSync(join(server.cacheDir, '64x64,cover,attention,jpeg', SOURCE)));
  });

  it('a malformed value for every option is a 400 naming the option and what it expected', async () => {
    const cases: [string, RegExp][] = [
      ['0x100', /Expected a width between 1 and 8192 for size "0x100" but received "0"/],
      ['100x99999', /Expected a height between 1 and 8192 for size/],
      ['fp-2-0.5', /Expected a number between 0 and 1 for focal point \(fp-X-Y\) but received "2"/],
      ['dpr9', /Expected a number between 1 and 4 for dpr/],
      ['r45', /Expected one of 90, 180, 270 for rotate/],
      ['blur500', /Expected a number between 0.3 and 100 for blur/],
      ['bg-red', /Expected a hex colour RGB or RRGGBB for background/],
      ['q0', /Expected an integer between 1 and 100 for quality/],
      ['covers', /Expected a size .* or an option .* for option but received "covers"/],
      ['webp,png', /Options "webp" and "png" conflict/],
    ];
    for (const [segment, message] of cases) {
      const { res, body } = await get(`/${segment}/${SOURCE}`);
      assert.equal(res.status, 400, segment);
      assert.match(body.toString(), message, segment);
    }
    // Every flag and keyword is one exact word: a typo of one is an unknown option, not silently ignored.
    for (const typo of ['fitt', 'northh', 'attentio', 'enlargee', 'trimm', 'flipp', 'flopp', 'sharpenn', 'jpegg', 'autoo', 'losless', 'progresive', 'keepic']) {
      const { res, body } = await get(`/${typo}/${SOURCE}`);
      assert.equal(res.status, 400, typo);
      assert.match(body.toString(), new RegExp(`for option but received "${typo}"`));
    }
  });

  it('in redirect delivery, auto redirects to the concrete derivative with Vary: Accept', async () => {
    const redirecting = await startTestServer({ delivery: 'redirect', publicBase: 'https://img.example.com' });
    try {
      const res = await fetch(`${redirecting.url}/60x,auto/${SOURCE}`, { headers: { Accept: CHROME }, redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(decodeURIComponent(res.headers.get('location') ?? ''), `https://img.example.com/60x,avif/${SOURCE}`);
      assert.equal(res.headers.get('vary'), 'Accept');
      const stored = await sharp(join(redirecting.cacheDir, '60x,avif', SOURCE)).metadata();
      assert.deepEqual([stored.compression, stored.width], ['av1', 60]);
    } finally {
      await redirecting.close();
    }
  });
});
