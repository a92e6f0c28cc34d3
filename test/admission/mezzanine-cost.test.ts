import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Metadata } from 'sharp';
import { predictCost } from '../../src/admission/cost.js';
import { normalise } from '../../src/ops/normalise.js';
import { describeTransform } from '../../src/pipeline/index.js';
import { mezzanineShape, planFromMezzanine, type MezzaninePlan } from '../../src/pipeline/mezzanine.js';

const LIMITS = { maxInputPixels: 1e8, maxOutputWidth: 8192, maxOutputHeight: 8192, maxOutputPixels: 4e7, timeoutSeconds: 20, svg: false, maxSvgBytes: 1, maxFrames: 1 };

/** The 16 MP progressive photo of the benches, as its header tells it. */
const SEEDING = {
  source: 'jpeg' as const,
  meta: { format: 'jpeg', width: 5312, height: 2988, channels: 3, depth: 'uchar', isProgressive: true, chromaSubsampling: '4:2:0' } as Metadata,
};
const MEZZANINE = { width: 2048, height: 1152 };

describe('admission prices a derivative made from the mezzanine by the mezzanine', () => {
  it('a 640 px WebP: a fraction of the direct path\'s memory and CPU (no whole-image coefficients of the source)', () => {
    const spec = normalise({ width: 640, format: 'webp' });
    const plan = planFromMezzanine(spec, { width: 5312, height: 2988, format: 'jpeg', orientation: 1 }, MEZZANINE, LIMITS) as MezzaninePlan;
    assert.equal(typeof plan, 'object');
    const fromMezzanine = predictCost(mezzanineShape(plan, MEZZANINE));
    const direct = predictCost(describeTransform(SEEDING, spec, LIMITS));
    assert.ok(fromMezzanine.memoryBytes < direct.memoryBytes / 2, `${fromMezzanine.memoryBytes} vs ${direct.memoryBytes}`);
    assert.ok(fromMezzanine.cpuMs < direct.cpuMs, `${fromMezzanine.cpuMs} vs ${direct.cpuMs}`);
    // Still the output's encode: the same output, the same encoder share.
    assert.ok(fromMezzanine.memoryBytes > 640 * 360 * 8);
  });
});
