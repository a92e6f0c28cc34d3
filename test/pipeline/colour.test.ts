import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { fixture, meanDiff, raw, transform } from './helpers.js';

const HOPPER = 'orientation/pillow/hopper.jpg';

describe('EXIF orientation is always applied', () => {
  for (const ext of ['jpg', 'webp']) {
    for (let orientation = 2; orientation <= 8; orientation++) {
      it(`orientation ${orientation} (${ext}) shows the upright picture`, async () => {
        const file = `orientation/pillow/hopper_orientation_${orientation}.${ext}`;
        assert.equal((await sharp(fixture(file)).metadata()).orientation, orientation, 'fixture carries the tag');
        const upright = await raw(sharp(fixture(HOPPER)));
        const out = await transform('png', file);
        const diff = meanDiff(await raw(out.body), upright);
        assert.ok(diff < 6, `mean difference ${diff.toFixed(1)}`);
        assert.equal((await sharp(out.body).metadata()).orientation, undefined, 'no tag left to apply twice');
      });
    }
  }

  it('and a resize sees the oriented size', async () => {
    // Orientation 6 of a wide image is tall: rotate a wide photo's tag in and ask for a width.
    const tagged = await sharp(fixture('webp/1.webp')).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const out = await transform('184x', tagged);
    assert.deepEqual([out.width, out.height], [184, 275]);
  });
});

describe('colour', () => {
  it('CMYK sources come out as sRGB with the right colours', async () => {
    for (const file of ['cmyk/pil_sample_cmyk.jpg', 'cmyk/tiff_strip_cmyk_jpeg.tif']) {
      const out = await transform('png', file);
      const meta = await sharp(out.body).metadata();
      assert.equal(meta.space, 'srgb');
      assert.equal(meta.channels, 3);
      // The fixture is red lettering on black; read as RGB, its CMY channels would show near-white.
      const { channels } = await sharp(out.body).stats();
      const [r, g, b] = channels.map((c) => c.max);
      assert.ok((r ?? 0) > 200 && (g ?? 255) < 80 && (b ?? 255) < 80, `${file}: max ${r},${g},${b}`);
    }
  });

  it('ICC-tagged sources are converted to sRGB and the profile is dropped', async () => {
    // A wide-gamut (Display P3) version of a photo: same colours, different numbers.
    const srgb = await sharp(fixture('webp/1.webp')).resize(200).png().toBuffer();
    const p3 = await sharp(srgb).withIccProfile('p3').png().toBuffer();
    const numbersDiffer = meanDiff(await raw(sharp(p3, { ignoreIcc: true })), await raw(sharp(srgb)));
    assert.ok(numbersDiffer > 2, `P3 numbers differ from sRGB (${numbersDiffer})`);
    const out = await transform('png', p3);
    assert.ok(meanDiff(await raw(out.body), await raw(sharp(srgb))) < 1, 'converted back to sRGB');
    assert.equal((await sharp(out.body).metadata()).hasProfile, false);
    const tagged = await transform('png', 'png/icc-profile.png');
    assert.equal((await sharp(tagged.body).metadata()).hasProfile, false);
  });

  it('keepicc keeps the source profile, with pixels in it', async () => {
    const srgb = await sharp(fixture('webp/1.webp')).resize(200).png().toBuffer();
    const p3 = await sharp(srgb).withIccProfile('p3').png().toBuffer();
    const out = await transform('keepicc,png', p3);
    const meta = await sharp(out.body).metadata();
    assert.ok(meta.icc && meta.icc.equals((await sharp(p3).metadata()).icc ?? Buffer.alloc(0)), 'same profile');
    assert.ok(meanDiff(await raw(sharp(out.body)), await raw(sharp(srgb))) < 1, 'reads as the same colours');
  });
});

describe('metadata', () => {
  it('EXIF, XMP and ICC are stripped by default', async () => {
    const source = fixture('photos/issue70.jpg');
    assert.ok((await sharp(source).metadata()).exif, 'fixture has EXIF');
    for (const format of ['jpeg', 'webp', 'png', 'avif']) {
      const meta = await sharp((await transform(`100x,${format}`, source)).body).metadata();
      assert.equal(meta.exif, undefined, format);
      assert.equal(meta.xmp, undefined, format);
      assert.equal(meta.icc, undefined, format);
    }
  });
});
