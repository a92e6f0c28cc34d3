import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptedImageTypes, negotiateFormat } from '../../src/ops/auto-format.js';
import { buildSegment, parseSegment } from '../../src/url/segment.js';

const LIMITS = { maxOutputWidth: 8192, maxOutputHeight: 8192 };
const keyFor = (segment: string, accept: string | undefined) => {
  const { spec, varyAccept } = negotiateFormat(parseSegment(segment, LIMITS), accept);
  return { segment: buildSegment(spec), varyAccept };
};

const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const SAFARI_15 = 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5';
const OLD = 'image/png,image/*;q=0.8,*/*;q=0.5';

describe('auto format', () => {
  it('picks AVIF, then WebP, then the source format, and the key names the concrete choice', () => {
    assert.deepEqual(keyFor('400x300,auto', CHROME), { segment: '400x300,avif', varyAccept: true });
    assert.deepEqual(keyFor('400x300,auto', SAFARI_15), { segment: '400x300,webp', varyAccept: true });
    assert.deepEqual(keyFor('400x300,auto', OLD), { segment: '400x300', varyAccept: true });
    assert.deepEqual(keyFor('400x300,auto', undefined), { segment: '400x300', varyAccept: true });
  });

  it('shares derivatives with explicit formats, defaults canonicalised per the chosen format', () => {
    assert.equal(keyFor('auto,q60', CHROME).segment, keyFor('avif', undefined).segment);
    assert.equal(keyFor('auto,q80', SAFARI_15).segment, 'webp');
    assert.equal(keyFor('auto,lossless,q90', CHROME).segment, 'avif,lossless');
    assert.equal(keyFor('auto,progressive', CHROME).segment, 'avif');
    assert.equal(keyFor('auto,progressive', OLD).segment, 'progressive');
  });

  it('does not vary when the format is explicit or absent', () => {
    assert.equal(keyFor('400x300,webp', CHROME).varyAccept, false);
    assert.equal(keyFor('400x300', CHROME).varyAccept, false);
  });

  it('reads q=0 as a refusal and ignores wildcards', () => {
    assert.equal(keyFor('auto', 'image/avif;q=0, image/webp').segment, 'webp');
    assert.equal(keyFor('auto', 'image/avif; q=0.0, image/webp;q=0').segment, 'original');
    assert.equal(keyFor('auto', '*/*').segment, 'original');
    assert.equal(keyFor('auto', 'IMAGE/AVIF').segment, 'avif');
    assert.deepEqual([...acceptedImageTypes('image/webp;q=0.9, image/png')], ['image/webp', 'image/png']);
  });
});
