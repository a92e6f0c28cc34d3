import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { DEFAULTS } from '../../src/config/index.js';
import { DEFAULT_QUALITY, PROVISIONAL_QUALITY } from '../../src/ops/defaults.js';
import { render, renderPixels } from '../../src/pipeline/index.js';
import { scorer } from '../../src/quality/ssim.js';
import { pipelineLimits } from '../../src/runtime.js';
import { parseSegment } from '../../src/url/segment.js';
import { FIXTURES } from '../helpers/server.js';

/**
 * The encoder defaults on the corpus's hardest photo (docs/encoders.md): what a provisional miss of it serves is what
 * the background re-encode keeps (it never stores more bytes), so that encode alone sets the lowest SSIM of each
 * format. Bounds from the corpus measurement, with a little room for libvips/encoder versions.
 */
describe('encoder defaults on the hardest corpus photo (heif/example.avif, 710x533 cover)', () => {
  const limits = pipelineLimits(DEFAULTS);
  const load = async (format: 'jpeg' | 'webp' | 'avif') => {
    const source = await readFile(join(FIXTURES, 'heif/example.avif'));
    const spec = parseSegment(`710x533,cover,${format}`, DEFAULTS);
    const pixels = await renderPixels(source, spec, limits);
    return { source, spec, score: await scorer(pixels.data, pixels.raw) };
  };

  it('JPEG: the provisional encode reaches plain libjpeg q80\'s SSIM (what ipx serves), the default q80 does not', async () => {
    const { source, spec, score } = await load('jpeg');
    const provisional = (await render(source, spec, limits, undefined, { provisional: true })).body;
    const fast = (await render(source, spec, limits)).body;
    const pixels = await renderPixels(source, spec, limits);
    // sharp's defaults: libjpeg's standard tables, no trellis (ipx's JPEG).
    const libjpeg = await sharp(pixels.data, { raw: pixels.raw }).jpeg({ quality: 80 }).toBuffer();
    const [p, f, l] = [await score(provisional), await score(fast), await score(libjpeg)];
    assert.ok(p >= l, `provisional q${PROVISIONAL_QUALITY.jpeg} SSIM ${p.toFixed(4)} < libjpeg q80 ${l.toFixed(4)}`);
    assert.ok(f < l, `default q${DEFAULT_QUALITY.jpeg} SSIM ${f.toFixed(4)} already reaches libjpeg q80 ${l.toFixed(4)}: revisit PROVISIONAL_QUALITY`);
    assert.ok(provisional.length <= 140_000, `${provisional.length} bytes`);
  });

  it('AVIF: the provisional encode stays within 0.002 of WebP\'s lowest SSIM on the corpus (0.9537), at fewer bytes than WebP', async () => {
    const avif = await load('avif');
    const webp = await load('webp');
    const a = (await render(avif.source, avif.spec, limits, undefined, { provisional: true })).body;
    const w = (await render(webp.source, webp.spec, limits, undefined, { provisional: true })).body;
    const fast = (await render(avif.source, avif.spec, limits)).body;
    const [sa, sf] = [await avif.score(a), await avif.score(fast)];
    assert.ok(sa >= 0.9537 - 0.002, `provisional q${PROVISIONAL_QUALITY.avif} SSIM ${sa.toFixed(4)}`);
    assert.ok(sf < 0.9537 - 0.002, `default q${DEFAULT_QUALITY.avif} SSIM ${sf.toFixed(4)} already within 0.002: revisit PROVISIONAL_QUALITY`);
    assert.ok(a.length < w.length, `AVIF ${a.length} bytes, WebP ${w.length}`);
  });
});
