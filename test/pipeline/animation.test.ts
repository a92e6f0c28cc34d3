import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { Unprocessable } from '../../src/errors/index.js';
import { fixture, meanDiff, raw, transform } from './helpers.js';

const GIF = 'anim/cogs.gif'; // 85x77, 5 frames, delays 0,50,50,...; loop 32761
const WEBP = 'anim/big-height.webp'; // 13x169, 97 identical frames (encoders merge them into one)

async function frames(buf: Buffer) {
  const meta = await sharp(buf).metadata();
  return { pages: meta.pages ?? 1, delay: meta.delay, loop: meta.loop, width: meta.width, pageHeight: meta.pageHeight ?? meta.height };
}

describe('animation', () => {
  it('GIF to GIF and to WebP stays animated: every frame, resized, timing kept', async () => {
    const source = await frames(fixture(GIF));
    for (const format of ['gif', 'webp']) {
      const out = await transform(`40x,${format}`, GIF);
      const f = await frames(out.body);
      assert.equal(f.pages, 5, format);
      assert.deepEqual([f.width, f.pageHeight, out.width, out.height], [40, 36, 40, 36], format);
      // WebP has no zero delay (libwebp makes it 100 ms); the others are kept.
      assert.deepEqual(f.delay?.slice(1), source.delay?.slice(1), `${format} delays`);
      assert.equal(f.loop, source.loop, `${format} loop count`);
      const first = await raw(sharp(out.body, { page: 0 }));
      const third = await raw(sharp(out.body, { page: 2 }));
      assert.ok(meanDiff(first, third) > 1, `${format}: frames differ`);
    }
  });

  it('animated WebP sources stay animated, and crops apply to each frame', async () => {
    const webp = await sharp(fixture(GIF), { animated: true }).webp({ lossless: true }).toBuffer();
    assert.equal((await frames(webp)).pages, 5, 'an animated WebP source');
    for (const format of ['webp', 'gif']) {
      const out = await transform(`30x20,cover,fp-0.2-0.8,${format}`, webp);
      const f = await frames(out.body);
      assert.deepEqual([f.pages, f.width, f.pageHeight], [5, 30, 20], format);
      // Each frame is the same crop of the matching source frame.
      const expected = await raw(sharp(fixture(GIF), { page: 3 }).resize(30, 27, { fit: 'fill' })
        .extract({ left: 0, top: 7, width: 30, height: 20 }).flatten({ background: '#ffffff' }));
      const frame = await raw(sharp(out.body, { page: 3 }).flatten({ background: '#ffffff' }));
      assert.ok(meanDiff(frame, expected) < 12, `${format} frame 3 (${meanDiff(frame, expected).toFixed(1)})`);
    }
  });

  it('formats that cannot animate get the first frame', async () => {
    for (const format of ['png', 'jpeg', 'avif']) {
      const out = await transform(`40x,${format}`, GIF);
      assert.equal((await frames(out.body)).pages, 1, format);
      assert.deepEqual([out.width, out.height], [40, 36]);
    }
    const png = await raw((await transform('png', GIF)).body);
    assert.equal(meanDiff(png, await raw(sharp(fixture(GIF), { page: 0 }))), 0, 'the first frame');
  });

  it('operations libvips cannot do per frame give the first frame rather than an error', async () => {
    for (const seg of ['r90,gif', 'trim,gif', '40x40,cover,attention,gif', '40x40,cover,entropy,webp']) {
      const out = await transform(seg, GIF);
      assert.equal((await frames(out.body)).pages, 1, seg);
    }
    // A half turn is two mirrors, which work on every frame.
    assert.equal((await frames((await transform('r180,gif', GIF)).body)).pages, 5);
  });

  it('refuses more frames than the limit (422)', async () => {
    await assert.rejects(transform('webp', WEBP, { maxFrames: 50 }), (err: unknown) =>
      err instanceof Unprocessable && /97 frames, over the limit of 50/.test(err.message));
    // The first frame alone is within any frame limit.
    assert.equal((await frames((await transform('png', WEBP, { maxFrames: 50 })).body)).pages, 1);
  });

  it('counts every frame into the pixel limits', async () => {
    // 5 frames of 85x77 = 32725 pixels; an output limit of 10000 leaves 2000 per frame.
    const out = await transform('gif', GIF, { maxOutputPixels: 10_000 });
    assert.ok(out.width * out.height * 5 <= 10_000, `${out.width}x${out.height}`);
    assert.equal((await frames(out.body)).pages, 5);
    await assert.rejects(transform('gif', GIF, { maxInputPixels: 30_000 }), Unprocessable);
  });
});
