import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { fixture, meanDiff, raw, transform } from './helpers.js';

const DICE = 'png/dice.png'; // 800x600, dice on transparency

/** The documented meaning, one operation per pass. */
async function reference(ops: ((s: Sharp) => Sharp)[]) {
  let buf = await sharp(fixture(DICE)).png().toBuffer();
  for (const op of ops) buf = await op(sharp(buf)).png().toBuffer();
  return raw(buf);
}

describe('options compose', () => {
  const segment = '150x100,cover,fp-0.3-0.6,dpr2,r90,flop,blur1,sharpen,bg-ff0000,jpeg,q90,progressive';
  // r90: 600x800; flop; cover 300x200 (dpr2) → scaled 300x400, window top = 0.6*400 - 100 = 140; blur sigma 1*dpr.
  const steps = (flop: boolean, top: number): ((s: Sharp) => Sharp)[] => [
    (s) => s.rotate(90),
    (s) => (flop ? s.flop() : s),
    (s) => s.resize(300, 400, { fit: 'fill' }).extract({ left: 0, top, width: 300, height: 200 }),
    (s) => s.blur(2).sharpen(),
    (s) => s.flatten({ background: '#ff0000' }),
  ];

  it(`${segment}: every option applied, in the documented order`, async () => {
    const out = await transform(segment, DICE);
    const meta = await sharp(out.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.isProgressive, meta.hasAlpha], ['jpeg', 300, 200, true, false]);
    const got = await raw(out.body);
    const right = meanDiff(got, await reference(steps(true, 140)));
    assert.ok(right < 4, `matches the stepwise reference (${right.toFixed(2)})`);
    assert.ok(meanDiff(got, await reference(steps(false, 140))) > right + 5, 'the flop is visible');
    assert.ok(meanDiff(got, await reference(steps(true, 100))) > right + 5, 'the focal point is visible');
  });
});
