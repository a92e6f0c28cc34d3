import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { parsePresets } from '../../src/url/presets.js';
import { hmacSha256 } from '../../src/url/hmac.js';
import { signatureSegment } from '../../src/url/signature.js';
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const IMAGE = 'orientation/pillow/hopper.jpg';
const KEY = 'presets-test-key-0123456789';
const LIMITS = { maxOutputWidth: 8192, maxOutputHeight: 8192 };

describe('preset definitions', () => {
  it('parse name=options pairs separated by ;', () => {
    assert.deepEqual([...parsePresets('thumb=150x150,cover,webp; hero=1200x,q70', LIMITS)], [['thumb', '150x150,cover,webp'], ['hero', '1200x,q70']]);
    assert.equal(parsePresets('', LIMITS).size, 0);
  });

  it('refuse option words, prototype names are fine as names', () => {
    for (const bad of ['cover=100x', 'q80=100x', 'w100=100x', 'webp=100x', 'original=100x', 'Thumb=100x', 'a b=100x', 'thumb=100y', 'thumb=10x;thumb=20x']) {
      assert.throws(() => parsePresets(bad, LIMITS), Error, bad);
    }
    assert.equal(parsePresets('constructor=20x', LIMITS).get('constructor'), '20x');
  });
});

describe('presets and size rules over HTTP', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({
      signingKeys: KEY,
      presets: 'thumb=40x40,cover,webp;tiny=10x',
      allowedWidths: '32,64',
      allowedSegments: '20x20,cover,png',
    });
  });
  after(async () => { await srv.close(); });

  it('a preset is served unsigned, stored under its expanded canonical key', async () => {
    const res = await rawRequest(srv.url, `/thumb/${IMAGE}`);
    assert.equal(res.status, 200, res.body.toString());
    const meta = await sharp(res.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 40, 40]);
    const segments = (await readdir(srv.cacheDir)).filter((n) => !n.startsWith('.'));
    assert.deepEqual(segments, ['40x40,cover,webp'], 'no preset name in the derivative key');
  });

  it('a preset name is not a loophole: combined with other options it needs a signature', async () => {
    assert.equal((await rawRequest(srv.url, `/thumb,q20/${IMAGE}`)).status, 403);
    const sig = signatureSegment(`/40x40,cover,webp,q20/${IMAGE}`, KEY, undefined, hmacSha256);
    assert.equal((await rawRequest(srv.url, `/${sig}/thumb,q20/${IMAGE}`)).status, 200);
  });

  it('allowed widths pass unsigned with fit, format and quality; other widths and options do not', async () => {
    for (const seg of ['32x', '64x', '64x,webp,q50', '32x,cover,avif']) {
      assert.equal((await rawRequest(srv.url, `/${seg}/${IMAGE}`)).status, 200, seg);
    }
    for (const seg of ['33x', '64x,blur3', 'x64', '64x,dpr2', 'original', '64x64', '32x32,cover']) {
      assert.equal((await rawRequest(srv.url, `/${seg}/${IMAGE}`)).status, 403, seg);
    }
  });

  it('an allowed whole segment passes in any spelling', async () => {
    assert.equal((await rawRequest(srv.url, `/png,20x20,cover/${IMAGE}`)).status, 200);
    assert.equal((await rawRequest(srv.url, `/20x20,cover,jpeg/${IMAGE}`)).status, 403);
  });
});

describe('presets-only mode', () => {
  it('admits presets and signed URLs only', async () => {
    const srv = await startTestServer({ presets: 'small=30x', presetsOnly: true, allowedWidths: '30', signingKeys: KEY });
    try {
      assert.equal((await rawRequest(srv.url, `/small/${IMAGE}`)).status, 200);
      assert.equal((await rawRequest(srv.url, `/30x/${IMAGE}`)).status, 403, 'allowlists do not apply in presets-only mode');
      assert.equal((await rawRequest(srv.url, `/unknown/${IMAGE}`)).status, 400);
      const sig = signatureSegment(`/31x/${IMAGE}`, KEY, undefined, hmacSha256);
      assert.equal((await rawRequest(srv.url, `/${sig}/31x/${IMAGE}`)).status, 200);
    } finally {
      await srv.close();
    }
  });

  it('without keys an allowlist alone restricts what may be asked', async () => {
    const srv = await startTestServer({ allowedWidths: '16' });
    try {
      assert.equal((await rawRequest(srv.url, `/16x/${IMAGE}`)).status, 200);
      assert.equal((await rawRequest(srv.url, `/17x/${IMAGE}`)).status, 403);
    } finally {
      await srv.close();
    }
  });
});
