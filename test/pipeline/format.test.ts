import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ssim } from '../helpers/ssim.js';
import { fixture, meanDiff, raw, transform } from './helpers.js';

const PHOTO = 'webp/1.webp';

describe('output format', () => {
  it('encodes each named format, content type included', async () => {
    for (const [token, format, type] of [['jpeg', 'jpeg', 'image/jpeg'], ['jpg', 'jpeg', 'image/jpeg'], ['png', 'png', 'image/png'],
      ['webp', 'webp', 'image/webp'], ['avif', 'heif', 'image/avif'], ['gif', 'gif', 'image/gif']] as const) {
      const out = await transform(`200x,${token}`, PHOTO);
      const meta = await sharp(out.body).metadata();
      assert.equal(meta.format, format, token);
      assert.equal(out.contentType, type);
      assert.equal(meta.width, 200);
      if (token === 'avif') assert.equal(meta.compression, 'av1');
    }
  });

  it('keeps the source format when none is named; other sources become JPEG or PNG', async () => {
    assert.equal((await transform('100x', PHOTO)).format, 'webp');
    assert.equal((await transform('100x', 'tiff16/sample.tif')).format, 'jpeg');
    assert.equal((await transform('100x', 'tiff16/tiff_16bit_RGBa.tiff')).format, 'png');
    assert.equal((await transform('100x', 'heif/example.avif')).format, 'avif');
  });
});

describe('quality', () => {
  for (const format of ['jpeg', 'webp', 'avif']) {
    it(`${format}: a higher q gives more bytes and a closer image`, async () => {
      const reference = await sharp(fixture(PHOTO)).resize(300).png().toBuffer();
      const low = (await transform(`300x,${format},q20`, PHOTO)).body;
      const high = (await transform(`300x,${format},q90`, PHOTO)).body;
      assert.ok(high.length > low.length * 1.5, `${format} ${low.length} → ${high.length}`);
      assert.ok(await ssim(reference, high) > await ssim(reference, low) + 0.01);
    });
  }

  it('the default quality is the documented one (q80 JPEG: same bytes as an explicit q80)', async () => {
    const implicit = (await transform('300x,jpeg', PHOTO)).body;
    const explicit = (await transform('300x,jpeg,q80', PHOTO)).body;
    assert.ok(implicit.equals(explicit));
  });
});

describe('progressive and lossless', () => {
  it('JPEG is baseline by default and progressive on request', async () => {
    assert.equal((await sharp((await transform('300x,jpeg', PHOTO)).body).metadata()).isProgressive, false);
    assert.equal((await sharp((await transform('300x,jpeg,progressive', PHOTO)).body).metadata()).isProgressive, true);
  });

  it('PNG is interlaced on request', async () => {
    assert.equal((await sharp((await transform('100x,png', PHOTO)).body).metadata()).isProgressive, false);
    assert.equal((await sharp((await transform('100x,png,progressive', PHOTO)).body).metadata()).isProgressive, true);
  });

  it('lossless WebP and AVIF decode to the exact resized pixels', async () => {
    const reference = await raw(sharp(fixture(PHOTO)).resize(120));
    const webp = await raw((await transform('120x,webp,lossless', PHOTO)).body);
    assert.equal(meanDiff(reference, webp), 0);
    const lossy = await raw((await transform('120x,webp', PHOTO)).body);
    assert.ok(meanDiff(reference, lossy) > 0.5);
    const avif = await raw((await transform('120x,avif,lossless', PHOTO)).body);
    assert.ok(meanDiff(reference, avif) < 0.5, `avif lossless ${meanDiff(reference, avif)}`);
    const avifLossy = await raw((await transform('120x,avif', PHOTO)).body);
    assert.ok(meanDiff(reference, avifLossy) > meanDiff(reference, avif) + 1);
  });
});
