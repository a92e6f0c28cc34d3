import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { normalise } from '../../src/ops/normalise.js';
import type { CanonicalSpec, TransformSpec } from '../../src/ops/spec.js';
import { inspect, render, type Inspected } from '../../src/pipeline/index.js';
import { factsOf, makeMezzanine, MAX_MEZZANINE_SCALE, planFromMezzanine, renderFromMezzanine, type Mezzanine, type MezzaninePlan } from '../../src/pipeline/mezzanine.js';
import { ssim } from '../helpers/ssim.js';
import { FIXTURES } from '../helpers/server.js';

/**
 * The mezzanine path against the direct path, both scored against an independent reference: the source decoded
 * whole (lossless, so no shrink-on-load, no mezzanine) and resized by sharp with lanczos3 in one step, onto the
 * direct path's output: its size, and its crop in whole output pixels (sharp's CalculateCrop and embed rules, as
 * planFromMezzanine works them out; the direct path's SSIM against it, at least 0.97 in every case, shows the two
 * agree: a crop one pixel off scores 0.85-0.95). A derivative made from the mezzanine must have the direct
 * path's size, and an SSIM at most 0.002 below the direct path's.
 *
 * The source is the 20 MP Kleiber photo scaled to 2400 px and the mezzanine 768 px, so the whole matrix runs in
 * seconds; the ratios (source ÷ mezzanine ≈ 3, outputs up to half the mezzanine) are the real-size ones
 * (6028 px → 2048 px). The real sizes are measured by the srcset bench (docs/benchmarks.md).
 */
const LIMITS = { maxInputPixels: 1e8, maxOutputWidth: 8192, maxOutputHeight: 8192, maxOutputPixels: 4e7, timeoutSeconds: 60, svg: false, maxSvgBytes: 1, maxFrames: 1 };
const SETTINGS = { longSide: 768, quality: 95 };
const TOLERANCE = 0.002;
const HALF = SETTINGS.longSide * MAX_MEZZANINE_SCALE;

/** A source and what each path needs of it. */
interface Subject {
  source: Buffer;
  header: Inspected;
  /** The whole decode, upright, as a lossless PNG (the reference's input). */
  lossless: Mezzanine;
  mezz: Mezzanine;
}

async function subject(source: Buffer): Promise<Subject> {
  const full = await sharp(source).autoOrient().png({ compressionLevel: 0 }).toBuffer({ resolveWithObject: true });
  return {
    source, header: await inspect(source, LIMITS), lossless: { body: full.data, width: full.info.width, height: full.info.height },
    mezz: await makeMezzanine(source, SETTINGS, LIMITS),
  };
}

let upright: Subject;
let header: Inspected;
let mezz: Mezzanine;
let photo: Buffer;

before(async () => {
  photo = await sharp(join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg')).resize({ width: 2400 }).png({ compressionLevel: 0 }).toBuffer();
  // Progressive, as the sources that get a mezzanine are (src/pipeline/mezzanine.ts, canHoldSource).
  upright = await subject(await sharp(photo).jpeg({ quality: 92, progressive: true }).toBuffer());
  ({ header, mezz } = upright);
});

const SIZES = [64, 128, 256, HALF];
const GRAVITIES = ['north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center'] as const;

/** The reference: the lossless whole decode, resized and cut as the direct path does, in one lanczos3 step. */
async function referenceOf(s: Subject, spec: CanonicalSpec) {
  const plan = planFromMezzanine(spec, factsOf(s.header), s.lossless, LIMITS);
  assert.equal(typeof plan, 'object');
  return renderFromMezzanine(s.lossless.body, normalise({ ...spec, format: 'png' }), { ...(plan as MezzaninePlan), format: 'png' }, LIMITS);
}

/** Each case through both paths and the reference; the failures, described. */
async function compare(s: Subject, matrix: Array<[string, TransformSpec]>): Promise<string[]> {
  const failures: string[] = [];
  for (const [label, raw] of matrix) {
    const spec = normalise(raw);
    const plan = planFromMezzanine(spec, factsOf(s.header), s.mezz, LIMITS);
    // Every case is within the mezzanine's reach: a fallback here would test nothing.
    assert.equal(typeof plan, 'object', `${label}: fell back (${String(plan)})`);
    if (typeof plan !== 'object') continue;
    const [direct, fromMezz, reference] = await Promise.all([
      render(s.source, spec, LIMITS, s.header),
      renderFromMezzanine(s.mezz.body, spec, plan, LIMITS),
      referenceOf(s, spec),
    ]);
    assert.deepEqual([fromMezz.width, fromMezz.height], [direct.width, direct.height], `${label}: dimensions`);
    assert.deepEqual([reference.width, reference.height], [direct.width, direct.height], `${label}: reference dimensions`);
    const [d, m] = await Promise.all([ssim(reference.body, direct.body), ssim(reference.body, fromMezz.body)]);
    if (d < 0.97) failures.push(`${label}: the reference does not agree with the direct path (${d.toFixed(4)})`);
    if (m < d - TOLERANCE) failures.push(`${label}: direct ${d.toFixed(4)}, mezzanine ${m.toFixed(4)} (${(m - d).toFixed(4)})`);
  }
  return failures;
}

/** Every case as [label, spec]: fits × sizes, then gravities, focal points, strategies, mirrors, half turns and dpr. */
function cases(): Array<[string, TransformSpec]> {
  const out: Array<[string, TransformSpec]> = [];
  for (const size of SIZES) {
    out.push([`${size}x inside`, { width: size, format: 'webp' }]);
    out.push([`x${Math.round(size / 2)} inside`, { height: Math.round(size / 2), format: 'jpeg' }]);
    for (const fit of ['cover', 'contain', 'fill', 'inside', 'outside'] as const) {
      // Boxes whose shape differs from the source's (16:9), so cover crops and contain pads.
      out.push([`${size}x${Math.round(size * 0.5)} ${fit}`, { width: size, height: Math.round(size * 0.5), fit, format: 'webp' }]);
      out.push([`${Math.round(size * 0.75)}x${Math.round(size * 0.5)} ${fit}`, { width: Math.round(size * 0.75), height: Math.round(size * 0.5), fit, format: 'webp' }]);
    }
  }
  for (const g of GRAVITIES) {
    out.push([`150x150 cover ${g}`, { width: 150, height: 150, fit: 'cover', position: g, format: 'webp' }]);
    out.push([`200x150 contain ${g}`, { width: 200, height: 150, fit: 'contain', position: g, format: 'webp' }]);
  }
  for (const [x, y] of [[0.1, 0.9], [0.5, 0.5], [0.8, 0.2], [0, 0], [1, 1]] as const) {
    out.push([`120x160 cover fp-${x}-${y}`, { width: 120, height: 160, fit: 'cover', position: { x, y }, format: 'webp' }]);
  }
  for (const strategy of ['attention', 'entropy'] as const) {
    out.push([`200x200 cover ${strategy}`, { width: 200, height: 200, fit: 'cover', position: strategy, format: 'webp' }]);
    out.push([`100x200 cover ${strategy}`, { width: 100, height: 200, fit: 'cover', position: strategy, format: 'jpeg' }]);
  }
  out.push(['300x200 cover flip', { width: 300, height: 200, fit: 'cover', flip: true, format: 'webp' }]);
  out.push(['300x200 cover flop west', { width: 300, height: 200, fit: 'cover', flop: true, position: 'west', format: 'webp' }]);
  out.push(['200x150 cover flip flop', { width: 200, height: 150, fit: 'cover', flip: true, flop: true, format: 'webp' }]);
  out.push(['200x r180', { width: 200, rotate: 180, format: 'webp' }]);
  out.push(['150x150 cover r180 southwest', { width: 150, height: 150, fit: 'cover', rotate: 180, position: 'southwest', format: 'webp' }]);
  out.push(['120x160 cover fp r180 flop', { width: 120, height: 160, fit: 'cover', rotate: 180, flop: true, position: { x: 0.3, y: 0.6 }, format: 'webp' }]);
  out.push(['100x dpr2', { width: 100, dpr: 2, format: 'webp' }]);
  out.push(['75x50 cover dpr2.5', { width: 75, height: 50, fit: 'cover', dpr: 2.5, format: 'webp' }]);
  out.push(['96x96 contain dpr4 bg', { width: 96, height: 96, fit: 'contain', dpr: 4, background: '336699', format: 'jpeg' }]);
  out.push(['200x blur sharpen', { width: 200, blur: 1.5, sharpen: true, format: 'webp' }]);
  return out;
}

describe('derivatives made from the mezzanine match the direct path (SSIM against a full-decode lanczos3 reference)', () => {
  it('every case of the matrix: same dimensions, SSIM at most 0.002 below the direct path', async () => {
    assert.deepEqual(await compare(upright, cases()), []);
  });

  it('sources with an EXIF orientation: the partial blocks a shrink-on-load drops are on the turned side', async () => {
    const matrix: Array<[string, TransformSpec]> = [
      ['200x inside', { width: 200, format: 'webp' }],
      ['x100 inside', { height: 100, format: 'webp' }],
      ['150x150 cover north', { width: 150, height: 150, fit: 'cover', position: 'north', format: 'webp' }],
      ['200x150 contain east', { width: 200, height: 150, fit: 'contain', position: 'east', format: 'jpeg' }],
      ['120x160 cover fp', { width: 120, height: 160, fit: 'cover', position: { x: 0.7, y: 0.3 }, format: 'webp' }],
    ];
    const failures: string[] = [];
    // Stored turned the other way, so that the tag brings the photo upright: (turn, EXIF orientation).
    for (const [turn, orientation] of [[180, 3], [270, 6], [90, 8]] as const) {
      const stored = await sharp(photo).rotate(turn).jpeg({ quality: 92, progressive: true }).withMetadata({ orientation }).toBuffer();
      const s = await subject(stored);
      assert.equal(s.header.meta.orientation, orientation);
      failures.push(...(await compare(s, matrix)).map((f) => `orientation ${orientation}: ${f}`));
    }
    assert.deepEqual(failures, []);
  });

  it('the matrix reaches the fallback threshold: one pixel more is made from the source', () => {
    const at = planFromMezzanine(normalise({ width: HALF }), factsOf(header), mezz, LIMITS);
    const past = planFromMezzanine(normalise({ width: HALF + 1 }), factsOf(header), mezz, LIMITS);
    assert.equal(typeof at, 'object');
    assert.equal(past, 'resolution');
  });
});
