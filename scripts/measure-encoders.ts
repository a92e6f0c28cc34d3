/**
 * Measures AVIF effort levels against WebP on the photo fixtures: bytes, SSIM against the unencoded resize,
 * and encode time. Numbers go to docs/encoders.md.  Run: node --import tsx scripts/measure-encoders.ts [name filter]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sharp, { type Sharp } from 'sharp';
import { ssim } from '../src/quality/ssim.js';

const FIXTURES = new URL('../test/fixtures/', import.meta.url).pathname;
const PHOTOS = ['photos/Kleiber_by_Lukas_Baubkus.jpg', 'photos/issue70.jpg', 'progressive/flower.png.im_q85_420.jpg', 'heif/example.avif'];
const RUNS = 3;

type Candidate = [string, (img: Sharp) => Sharp];
const all: Candidate[] = [
  ['webp q80 effort 4', (img) => img.webp({ quality: 80, effort: 4 })],
  ['jpeg q80 (mozjpeg)', (img) => img.jpeg({ quality: 80, mozjpeg: true })],
  ...[0, 1, 2, 3, 4, 6].map((effort): Candidate => [`avif q50 effort ${effort}`, (img) => img.avif({ quality: 50, effort })]),
  // Quality-matched to WebP q80's SSIM.
  ...[0, 3].map((effort): Candidate => [`avif q60 effort ${effort}`, (img) => img.avif({ quality: 60, effort })]),
];
const candidates = all.filter(([name]) => !process.argv[2] || name.includes(process.argv[2]));

sharp.concurrency(1);
const rows: Record<string, { bytes: number; ssim: number; ms: number }> = {};
for (const file of PHOTOS) {
  // The reference is the service's typical derivative size, kept lossless.
  const reference = await sharp(readFileSync(FIXTURES + file)).resize(1200, 1200, { fit: 'inside' }).png({ compressionLevel: 1 }).toBuffer();
  for (const [name, encode] of candidates) {
    let best = Infinity;
    let out = Buffer.alloc(0);
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      out = await encode(sharp(reference)).toBuffer();
      best = Math.min(best, performance.now() - t);
    }
    const row = (rows[name] ??= { bytes: 0, ssim: 0, ms: 0 });
    row.bytes += out.length / PHOTOS.length;
    row.ssim += (await ssim(reference, out)) / PHOTOS.length;
    row.ms += best / PHOTOS.length;
  }
}
console.log('| encoder | mean bytes | mean SSIM | mean encode ms (best of 3, 1 thread) |');
console.log('|---|---:|---:|---:|');
for (const [name, r] of Object.entries(rows)) {
  console.log(`| ${name} | ${Math.round(r.bytes)} | ${r.ssim.toFixed(4)} | ${Math.round(r.ms)} |`);
}
