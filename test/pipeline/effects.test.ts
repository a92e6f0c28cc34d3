import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { edgeEnergy, fixture, meanDiff, pixel, raw, transform } from './helpers.js';

const PHOTO = 'webp/1.webp';
const TALL = 'photos/issue70.jpg';

/** Applies sharp operations one pass each, in the given order: the meaning the URL promises. */
async function stepwise(path: string, ...ops: ((s: Sharp) => Sharp)[]) {
  let buf = await sharp(fixture(path)).png().toBuffer();
  for (const op of ops) buf = await op(sharp(buf)).png().toBuffer();
  return raw(buf);
}

describe('dpr', () => {
  it('multiplies the box', async () => {
    const one = await transform('150x,png', TALL);
    const two = await transform('150x,dpr2,png', TALL);
    const half = await transform('150x,dpr1.5,png', TALL);
    assert.deepEqual([one.width, two.width, half.width], [150, 300, 225]);
    assert.equal(two.height, Math.round(4208 * (300 / 3120)));
  });

  it('is capped by the output limits, keeping the shape', async () => {
    const limits = { maxOutputWidth: 1000, maxOutputHeight: 1000, maxOutputPixels: 500_000 };
    const wide = await transform('1000x500,dpr4,cover,enlarge,png', PHOTO, limits);
    assert.ok(wide.width * wide.height <= 500_000, `${wide.width}x${wide.height}`);
    assert.equal(Math.round(wide.width / wide.height), 2);
  });
});

describe('per-op limits: a tiny source cannot be blown up', () => {
  it('enlarge to a huge box is clamped to the output pixel limit', async () => {
    const out = await transform('8192x8192,enlarge,png', 'png/trans-x.png', { maxOutputPixels: 1_000_000 });
    assert.deepEqual([out.width, out.height], [1000, 1000]);
  });

  it('dpr4 of the largest box is clamped to the output width and height', async () => {
    const out = await transform('1000x,dpr4,enlarge,png', 'png/trans-x.png', { maxOutputWidth: 1200, maxOutputHeight: 1200 });
    assert.deepEqual([out.width, out.height], [1200, 1200]);
  });

  it('the clamp holds for a focal-point crop, and for outside', async () => {
    const limits = { maxOutputPixels: 250_000 };
    const crop = await transform('4000x1000,cover,enlarge,fp-0.2-0.2,png', 'png/trans-x.png', limits);
    assert.ok(crop.width * crop.height <= 250_000 && crop.width === crop.height * 4, `${crop.width}x${crop.height}`);
    const outside = await transform('4000x1,outside,enlarge,png', 'png/trans-x.png', limits);
    assert.ok(outside.width * outside.height <= 250_000, `${outside.width}x${outside.height}`);
  });

  it('the blur sigma is bounded (400 above blur100) and scaled by dpr within that bound', async () => {
    const base = await raw((await transform('100x,blur50,png', PHOTO)).body);
    const scaled = await raw((await transform('50x,dpr2,blur50,png', PHOTO)).body);
    const capped = await raw((await transform('25x,dpr4,blur100,png', PHOTO)).body);
    // blur50 at dpr2 is sigma 100 on a 100 px image; at dpr4, blur100 would be 400 but stays 100.
    assert.ok(meanDiff(scaled, capped) < 1, `dpr-scaled sigma capped at 100 (${meanDiff(scaled, capped)})`);
    assert.ok(meanDiff(base, scaled) > 0.5, 'dpr scales the blur');
  });
});

describe('effects', () => {
  it('blur softens edges, more with a larger sigma', async () => {
    const plain = edgeEnergy(await raw((await transform('300x,png', PHOTO)).body));
    const soft = edgeEnergy(await raw((await transform('300x,blur1,png', PHOTO)).body));
    const softer = edgeEnergy(await raw((await transform('300x,blur5,png', PHOTO)).body));
    assert.ok(plain > soft && soft > softer * 1.5, `${plain} ${soft} ${softer}`);
  });

  it('sharpen strengthens edges', async () => {
    const plain = edgeEnergy(await raw((await transform('300x,png', PHOTO)).body));
    const sharper = edgeEnergy(await raw((await transform('300x,sharpen,png', PHOTO)).body));
    assert.ok(sharper > plain * 1.05, `${plain} → ${sharper}`);
  });

  it('rotates clockwise by quarter turns', async () => {
    for (const angle of [90, 180, 270]) {
      const out = await raw((await transform(`r${angle},png`, PHOTO)).body);
      assert.equal(meanDiff(out, await stepwise(PHOTO, (s) => s.rotate(angle))), 0, `r${angle}`);
    }
  });

  it('flip mirrors top-bottom, flop left-right', async () => {
    const src = await raw(sharp(fixture(PHOTO)));
    const flip = await raw((await transform('flip,png', PHOTO)).body);
    const flop = await raw((await transform('flop,png', PHOTO)).body);
    assert.deepEqual(pixel(flip, 10, 0), pixel(src, 10, src.height - 1));
    assert.deepEqual(pixel(flop, 0, 10), pixel(src, src.width - 1, 10));
  });

  it('mirrors apply after the rotation, whatever sharp does internally', async () => {
    for (const [seg, ops] of [
      ['r90,flip', [(s: Sharp) => s.rotate(90), (s: Sharp) => s.flip()]],
      ['r270,flop', [(s: Sharp) => s.rotate(270), (s: Sharp) => s.flop()]],
      ['r180,flip', [(s: Sharp) => s.rotate(180), (s: Sharp) => s.flip()]],
      ['r90,flip,flop', [(s: Sharp) => s.rotate(90), (s: Sharp) => s.flip(), (s: Sharp) => s.flop()]],
    ] as const) {
      const out = await raw((await transform(`${seg},png`, PHOTO)).body);
      assert.equal(meanDiff(out, await stepwise(PHOTO, ...ops)), 0, seg);
    }
  });

  it('trim cuts the flat border', async () => {
    // trans-x.png: 100x100, transparent around a 40x36 drawing.
    const out = await transform('trim,png', 'png/trans-x.png');
    assert.deepEqual([out.width, out.height], [40, 36]);
    const framed = await sharp(fixture(PHOTO)).resize(200).extend({ top: 30, bottom: 30, left: 50, right: 50, background: '#ffffff' }).png().toBuffer();
    const trimmed = await transform('trim,png', framed);
    assert.ok(Math.abs(trimmed.width - 200) <= 2 && Math.abs(trimmed.height - 134) <= 2, `${trimmed.width}x${trimmed.height}`);
  });

  it('trim then resize and crop use the trimmed size (rotation included)', async () => {
    const out = await transform('trim,r90,18x20,cover,fp-0-0,png', 'png/trans-x.png');
    assert.deepEqual([out.width, out.height], [18, 20]);
  });
});

describe('background and flattening', () => {
  it('JPEG output flattens transparency onto white by default', async () => {
    const out = await raw((await transform('jpeg', 'png/trans-x.png')).body);
    assert.ok(pixel(out, 2, 2).every((v) => v > 250), `corner ${pixel(out, 2, 2)}`);
  });

  it('bg-RRGGBB flattens transparency onto the colour, in every format', async () => {
    for (const format of ['jpeg', 'png', 'webp']) {
      const out = await raw((await transform(`bg-0000ff,${format}`, 'png/trans-x.png')).body, true);
      const [r, g, b, a] = pixel(out, 2, 2) as [number, number, number, number];
      assert.ok(r < 5 && g < 5 && b > 250 && a === 255, `${format}: ${pixel(out, 2, 2)}`);
    }
  });

  it('PNG and WebP keep transparency when no background is asked for', async () => {
    for (const format of ['png', 'webp', 'avif']) {
      const out = await raw((await transform(format, 'png/trans-x.png')).body, true);
      assert.equal(pixel(out, 2, 2)[3], 0, format);
    }
  });
});
