import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { edgeEnergy, fixture, meanDiff, pixel, raw, transform, type Raw } from './helpers.js';

// 550x368 photo: a square box crops it left-right, a wide box top-bottom.
const PHOTO = 'webp/1.webp';

async function size(buf: Buffer) {
  const m = await sharp(buf).metadata();
  return `${m.width}x${m.height}`;
}

describe('fit', () => {
  it('inside (default) fits the box keeping the aspect ratio', async () => {
    assert.equal(await size((await transform('200x200', PHOTO)).body), '200x134');
    assert.equal(await size((await transform('200x200,inside', PHOTO)).body), '200x134');
  });

  it('cover fills the box, cropping the overflow', async () => {
    assert.equal(await size((await transform('200x200,cover', PHOTO)).body), '200x200');
  });

  it('outside covers the box without cropping', async () => {
    assert.equal(await size((await transform('200x200,outside', PHOTO)).body), '299x200');
  });

  it('fill stretches to the box: the pixels are the distorted source', async () => {
    const out = await raw((await transform('200x100,fill,png', PHOTO)).body);
    const stretched = await raw(sharp(fixture(PHOTO)).resize(200, 100, { fit: 'fill' }));
    const cropped = await raw(sharp(fixture(PHOTO)).resize(200, 100, { fit: 'cover' }));
    assert.ok(meanDiff(out, stretched) < 1, `fill ${meanDiff(out, stretched)}`);
    assert.ok(meanDiff(out, cropped) > 10, 'fill is not a crop');
  });

  it('contain pads with the background colour', async () => {
    const out = await raw((await transform('200x200,contain,bg-ff0000,png', PHOTO)).body);
    assert.equal(`${out.width}x${out.height}`, '200x200');
    assert.deepEqual(pixel(out, 100, 5), [255, 0, 0], 'padding above');
    assert.deepEqual(pixel(out, 100, 195), [255, 0, 0], 'padding below');
    assert.notDeepEqual(pixel(out, 100, 100), [255, 0, 0], 'image in the middle');
  });

  it('contain pads transparent where the format has alpha and white in JPEG', async () => {
    const png = await raw((await transform('200x200,contain,png', PHOTO)).body, true);
    assert.equal(pixel(png, 100, 5)[3], 0);
    const jpeg = await raw((await transform('200x200,contain,jpeg', PHOTO)).body);
    assert.ok((pixel(jpeg, 100, 5) as number[]).every((v) => v > 250), `white ${pixel(jpeg, 100, 5)}`);
  });

  it('contain with a gravity places the image', async () => {
    const top = await raw((await transform('200x200,contain,north,bg-00ff00,png', PHOTO)).body);
    assert.notDeepEqual(pixel(top, 100, 5), [0, 255, 0]);
    assert.deepEqual(pixel(top, 100, 195), [0, 255, 0]);
  });

  it('never enlarges unless asked', async () => {
    assert.equal(await size((await transform('1100x', PHOTO)).body), '550x368');
    assert.equal(await size((await transform('1100x,enlarge', PHOTO)).body), '1100x736');
    // A cover box larger than a small source keeps the source's side where it is too small.
    assert.equal(await size((await transform('300x50,cover', 'png/trans-x.png')).body), '100x50');
    assert.equal(await size((await transform('300x50,cover,enlarge', 'png/trans-x.png')).body), '300x50');
  });
});

/** The resized-to-cover source, and the crop of it at each offset along the cropped axis. */
async function candidates(box: { width: number; height: number }) {
  const covered = await raw(sharp(fixture(PHOTO)).resize(box.width, box.height, { fit: 'outside' }));
  const spare = { x: covered.width - box.width, y: covered.height - box.height };
  const at = async (left: number, top: number) => raw(sharp(covered.data, { raw: { width: covered.width, height: covered.height, channels: 3 } })
    .extract({ left, top, width: box.width, height: box.height }));
  const along = spare.x > 0 ? 'x' : 'y';
  const offsets = { start: 0, middle: Math.floor((along === 'x' ? spare.x : spare.y) / 2), end: along === 'x' ? spare.x : spare.y };
  const crops: Record<string, Raw> = {};
  for (const [name, o] of Object.entries(offsets)) crops[name] = await (along === 'x' ? at(o, 0) : at(0, o));
  return crops;
}

function closest(out: Raw, crops: Record<string, Raw>): string {
  return Object.entries(crops).sort(([, a], [, b]) => meanDiff(out, a) - meanDiff(out, b))[0]?.[0] ?? '';
}

describe('crop position', () => {
  const horizontal: Record<string, string> = {
    west: 'start', northwest: 'start', southwest: 'start', center: 'middle', north: 'middle', south: 'middle',
    east: 'end', northeast: 'end', southeast: 'end',
  };
  const vertical: Record<string, string> = {
    north: 'start', northwest: 'start', northeast: 'start', center: 'middle', west: 'middle', east: 'middle',
    south: 'end', southwest: 'end', southeast: 'end',
  };

  it('the 9 compass gravities keep the matching part, in both axes', async () => {
    const across = await candidates({ width: 100, height: 100 });
    const down = await candidates({ width: 200, height: 50 });
    for (const gravity of Object.keys(horizontal)) {
      const h = await raw((await transform(`100x100,cover,${gravity},png`, PHOTO)).body);
      assert.equal(closest(h, across), horizontal[gravity], `${gravity} across`);
      const v = await raw((await transform(`200x50,cover,${gravity},png`, PHOTO)).body);
      assert.equal(closest(v, down), vertical[gravity], `${gravity} down`);
    }
  });

  it('a focal point centres the crop on it, moved inside the image near an edge', async () => {
    // 550x368 covered into 50x100: 149x100, a 50 px window.
    const covered = sharp(fixture(PHOTO)).resize(149, 100, { fit: 'fill' });
    const region = async (left: number) => raw(covered.clone().extract({ left, top: 0, width: 50, height: 100 }));
    const at30 = await raw((await transform('50x100,cover,fp-0.3-0.5,png', PHOTO)).body);
    assert.ok(meanDiff(at30, await region(Math.round(0.3 * 149 - 25))) < 0.5);
    const atEdge = await raw((await transform('50x100,cover,fp-1-0,png', PHOTO)).body);
    assert.ok(meanDiff(atEdge, await region(99)) < 0.5, 'clamped to the right edge');
    const atStart = await raw((await transform('50x100,cover,fp-0-1,png', PHOTO)).body);
    assert.ok(meanDiff(atStart, await region(0)) < 0.5, 'clamped to the left edge');
  });

  it('a focal point combines with dpr and rotation (crop after resize, in the rotated frame)', async () => {
    const out = await transform('50x25,cover,fp-0.5-0.1,dpr2,r90,png', PHOTO);
    assert.equal(`${out.width}x${out.height}`, '100x50');
    // Rotated 90°: 368x550; covered into 100x50 → 100x149; the window starts at the top (y=0.1 → clamped).
    const expected = await raw(sharp(await sharp(fixture(PHOTO)).rotate(90).resize(100, 149, { fit: 'fill' }).png().toBuffer())
      .extract({ left: 0, top: 0, width: 100, height: 50 }));
    assert.ok(meanDiff(await raw(out.body), expected) < 0.5);
  });

  it('attention and entropy find the subject away from the centre', async () => {
    // A face on a flat canvas, far right: a centred crop would be empty.
    const canvas = await sharp({ create: { width: 600, height: 200, channels: 3, background: '#808080' } })
      .composite([{ input: fixture('orientation/pillow/hopper.jpg'), left: 460, top: 36 }]).png().toBuffer();
    const centre = await raw((await transform('100x200,cover,png', canvas)).body);
    assert.ok(edgeEnergy(centre) < 0.5, 'the centre is flat');
    for (const strategy of ['attention', 'entropy']) {
      const out = await raw((await transform(`100x200,cover,${strategy},png`, canvas)).body);
      assert.ok(edgeEnergy(out) > 5, `${strategy} keeps the face (${edgeEnergy(out)})`);
    }
  });
});
