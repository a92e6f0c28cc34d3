import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import { encodePixels, renderPixels } from '../../src/pipeline/index.js';
import { autoQuality, QUALITY_RANGE } from '../../src/quality/auto.js';
import { scorer } from '../../src/quality/ssim.js';
import { pipelineLimits } from '../../src/runtime.js';
import { parseSegment } from '../../src/url/segment.js';
import { FIXTURES } from '../helpers/server.js';

/**
 * dice.png (a render: flat colour, smooth gradients) is where luma SSIM is blind: WebP q30 scores above the default
 * target while its red turns blotchy (butteraugli 2.8 against 1.4 at q80, docs/encoders.md). The search's floor is
 * what keeps such an image from being served at it.
 */
describe('auto quality: the floor of the search holds where luma SSIM would go lower', () => {
  const limits = pipelineLimits(DEFAULTS);
  // The floors measured with butteraugli on the corpus (docs/encoders.md, "The search's floor").
  const FLOOR = { jpeg: 46, webp: 46, avif: 32 } as const;

  for (const format of ['webp', 'jpeg', 'avif'] as const) {
    it(`${format}: SSIM alone would accept the old floor, the search stops at q${FLOOR[format]} or above`, async () => {
      const source = await readFile(join(FIXTURES, 'png/dice.png'));
      const spec = parseSegment(`800x600,cover,${format}`, DEFAULTS);
      const pixels = await renderPixels(source, spec, limits);
      const score = await scorer(pixels.data, pixels.raw);
      const low = await encodePixels(pixels, spec, { quality: format === 'avif' ? 20 : 30, best: true }, limits);
      assert.ok(await score(low) >= DEFAULTS.qualityTarget, 'the premise: the old floor passes the SSIM target');
      assert.ok(QUALITY_RANGE[format][0] >= FLOOR[format], `the range starts at q${QUALITY_RANGE[format][0]}`);
      const { best, trials } = await autoQuality(pixels, spec, DEFAULTS.qualityTarget, limits);
      assert.ok(best, 'a quality was found');
      assert.ok(best.quality >= FLOOR[format], `chose q${best.quality}`);
      assert.ok(trials.every((t) => t.quality >= FLOOR[format]), `tried ${trials.map((t) => t.quality).join(', ')}`);
      assert.ok(best.ssim >= DEFAULTS.qualityTarget);
    });
  }
});
