import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fittedSize, focalCrop, planResize } from '../../src/pipeline/geometry.js';

const LIMITS = { maxOutputWidth: 8192, maxOutputHeight: 8192, maxOutputPixels: 40_000_000 };
const SRC = { width: 1000, height: 500 };

describe('geometry', () => {
  it('fittedSize follows sharp for every fit, with and without enlargement', () => {
    assert.deepEqual(fittedSize(SRC, { width: 200, height: 200 }, 'inside', false), { width: 200, height: 100 });
    assert.deepEqual(fittedSize(SRC, { width: 200, height: 200 }, 'outside', false), { width: 400, height: 200 });
    assert.deepEqual(fittedSize(SRC, { width: 200, height: 200 }, 'cover', false), { width: 200, height: 200 });
    assert.deepEqual(fittedSize(SRC, { width: 200, height: 200 }, 'contain', false), { width: 200, height: 200 });
    assert.deepEqual(fittedSize(SRC, { width: 200, height: 50 }, 'fill', false), { width: 200, height: 50 });
    assert.deepEqual(fittedSize(SRC, { width: 2000 }, 'inside', false), SRC);
    assert.deepEqual(fittedSize(SRC, { width: 2000 }, 'inside', true), { width: 2000, height: 1000 });
    assert.deepEqual(fittedSize(SRC, { height: 2000 }, 'cover', true), { width: 4000, height: 2000 });
    assert.deepEqual(fittedSize(SRC, { width: 2000, height: 100 }, 'cover', false), { width: 1000, height: 100 });
  });

  it('planResize leaves a request within the limits alone', () => {
    assert.equal(planResize({}, SRC, 1, LIMITS), undefined);
    assert.deepEqual(planResize({ width: 300, fit: 'cover' }, SRC, 1, LIMITS)?.output, { width: 300, height: 150 });
    assert.deepEqual(planResize({ width: 150, height: 100, dpr: 2, fit: 'cover' }, SRC, 1, LIMITS)?.output, { width: 300, height: 200 });
  });

  it('planResize scales an oversized output down to the limits, keeping its shape', () => {
    const tiny = { width: 10, height: 10 };
    const huge = planResize({ width: 8192, height: 8192, enlarge: true }, tiny, 1, LIMITS);
    assert.ok(huge && huge.output.width * huge.output.height <= 40_000_000 && huge.output.width === huge.output.height);
    const outside = planResize({ width: 8192, height: 1, fit: 'outside', enlarge: true }, tiny, 1, LIMITS);
    assert.ok(outside && outside.output.width * outside.output.height <= 40_000_000);
    const wide = planResize({ width: 8000, height: 2000, dpr: 4, fit: 'cover', enlarge: true }, tiny, 1, LIMITS);
    assert.ok(wide && wide.output.width <= 8192 && wide.output.width === wide.output.height * 4, JSON.stringify(wide?.output));
    const frames = planResize({ width: 4000, height: 4000, enlarge: true }, tiny, 10, LIMITS);
    assert.ok(frames && frames.output.width * frames.output.height * 10 <= 40_000_000);
    // No size asked, but the source is larger than the output limits.
    const big = planResize({}, { width: 10000, height: 3000 }, 1, LIMITS);
    assert.ok(big && big.output.width <= 8192 && big.output.width >= 8188 && big.output.height === 2457, JSON.stringify(big?.output));
  });

  it('focalCrop centres on the point and stays inside the image', () => {
    // 1000x500 covering 100x100 is scaled to 200x100: a 100 px window slides along x.
    assert.deepEqual(focalCrop(SRC, { width: 100, height: 100 }, { x: 0.5, y: 0.5 }, false).extract, { left: 50, top: 0, width: 100, height: 100 });
    assert.deepEqual(focalCrop(SRC, { width: 100, height: 100 }, { x: 0.1, y: 0.5 }, false).extract, { left: 0, top: 0, width: 100, height: 100 });
    assert.deepEqual(focalCrop(SRC, { width: 100, height: 100 }, { x: 1, y: 1 }, false).extract, { left: 100, top: 0, width: 100, height: 100 });
    // Without enlarge, a box larger than the source crops what there is.
    assert.deepEqual(focalCrop(SRC, { width: 600, height: 600 }, { x: 0.9, y: 0 }, false), {
      width: 1000, height: 500, fit: 'fill', withoutEnlargement: false,
      extract: { left: 400, top: 0, width: 600, height: 500 }, output: { width: 600, height: 500 },
    });
  });
});
