// The calibration set of the cost model: real fixture photos, and the same photos re-encoded into every source
// shape whose memory behaves differently (progressive JPEG, interlaced PNG, WebP, AVIF, TIFF, animation, SVG).
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

export interface CostCase {
  file: string;
  segment: string;
}

export async function makeCostSources(): Promise<{ dir: string; files: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-cost-'));
  const kleiber = join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg');
  const mid = await sharp(kleiber).resize(3000).toBuffer();
  const variants: Record<string, () => Promise<Buffer>> = {
    'interlaced.png': () => sharp(mid).resize(2400).png({ progressive: true, compressionLevel: 1 }).toBuffer(),
    'plain.png': () => sharp(mid).resize(2400).png({ compressionLevel: 1 }).toBuffer(),
    'big.webp': () => sharp(mid).webp({ quality: 80 }).toBuffer(),
    'big.avif': () => sharp(mid).resize(2400).avif({ effort: 0 }).toBuffer(),
    'big.tiff': () => sharp(mid).tiff().toBuffer(),
    'progressive444.jpg': () => sharp(mid).jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer(),
  };
  const files: Record<string, string> = {
    'baseline20mp.jpg': kleiber,
    'baseline13mp.jpg': join(FIXTURES, 'photos/issue70.jpg'),
    'progressive16mp.jpg': join(FIXTURES, 'photos/seeding_by_Clements_Engelhardt.jpg'),
    'animated.gif': join(FIXTURES, 'anim/cogs.gif'),
    'animated.webp': join(FIXTURES, 'anim/big-height.webp'),
    'logo.svg': join(FIXTURES, 'svg/logo.svg'),
    'cmyk.jpg': join(FIXTURES, 'cmyk/pil_sample_cmyk.jpg'),
    'rgb16.tiff': join(FIXTURES, 'tiff16/tiff_16bit_RGB.tiff'),
  };
  for (const [name, make] of Object.entries(variants)) {
    const path = join(dir, name);
    await writeFile(path, await make());
    files[name] = path;
  }
  return { dir, files };
}

const SEGMENTS = ['300x200,cover', '1600x', '800x600,webp', '800x600,avif', '300x300,cover,attention', '1200x,r90', 'q80'];

export function costCases(files: Record<string, string>): CostCase[] {
  return Object.values(files).flatMap((file) => SEGMENTS.map((segment) => ({ file, segment })));
}

export { readFile };
