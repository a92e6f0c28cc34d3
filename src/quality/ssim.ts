import sharp, { type Sharp, type SharpOptions } from 'sharp';

const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
const WINDOW = 8;

/**
 * Mean SSIM (Wang et al. 2004) over 8x8 windows with stride 4, on 8-bit greyscale of equal size.
 * Plain windows rather than a Gaussian: cheap enough to run a few times per derivative in the quality search, and
 * it ranks encodings the same way (luma only: chroma subsampling is each format's own, not the search's, choice).
 */
export function ssimGrey(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  if (a.length !== width * height || b.length !== a.length) throw new Error('ssimGrey: images differ in size');
  let total = 0;
  let windows = 0;
  const n = WINDOW * WINDOW;
  for (let y = 0; y + WINDOW <= height; y += WINDOW / 2) {
    for (let x = 0; x + WINDOW <= width; x += WINDOW / 2) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let j = 0; j < WINDOW; j++) {
        const row = (y + j) * width + x;
        for (let i = 0; i < WINDOW; i++) {
          const pa = a[row + i] ?? 0;
          const pb = b[row + i] ?? 0;
          sa += pa; sb += pb; saa += pa * pa; sbb += pb * pb; sab += pa * pb;
        }
      }
      const ma = sa / n, mb = sb / n;
      const va = saa / n - ma * ma, vb = sbb / n - mb * mb, cov = sab / n - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      windows++;
    }
  }
  return total / windows;
}

/** Luma of an image as SSIM sees it: alpha flattened onto white (as it is usually shown), then greyscale. */
function luma(img: Sharp): Sharp {
  return img.flatten({ background: '#ffffff' }).greyscale();
}

export type Scorer = (candidate: Buffer) => Promise<number>;

/**
 * Scores encodings of one image against its reference (anything sharp reads, or raw pixels): the reference's
 * luma is computed once, each candidate is decoded and compared at the reference's size.
 */
export async function scorer(reference: Buffer, raw?: SharpOptions['raw']): Promise<Scorer> {
  const ref = await luma(sharp(reference, raw ? { raw } : {})).raw().toBuffer({ resolveWithObject: true });
  const { width, height } = ref.info;
  return async (candidate) => {
    const cand = await luma(sharp(candidate)).resize(width, height, { fit: 'fill' }).raw().toBuffer();
    return ssimGrey(ref.data, cand, width, height);
  };
}

/** SSIM of two encoded images (any format sharp reads), compared as greyscale at the first one's size. */
export async function ssim(reference: Buffer, candidate: Buffer): Promise<number> {
  return (await scorer(reference))(candidate);
}
