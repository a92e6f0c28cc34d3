/**
 * Which rule would auto quality best search by? Per image and format of the corpus, a grid of qualities at best
 * effort, each scored by luma SSIM (what the search uses), SSIM of the Cb and Cr planes, and butteraugli (libjxl's
 * butteraugli_main, `apt-get install libjxl-devtools`, 3-norm); ipx's defaults scored the same way. Then, for each
 * candidate rule, the smallest grid point that passes it: total bytes against ipx, butteraugli median and max, lowest
 * luma SSIM. (A grid, not the search's bisection, and no provisional floor: compare rules with each other, not with
 * docs/encoders.md's totals.) Results in docs/encoders.md, "Which metric".
 * Run: node --import tsx scripts/metric-sweep.ts [--from-cache]   (~10 min on 2 cores; the cache: .cache/metric-sweep.json)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIPX, ipxFSStorage } from 'ipx';
import { DEFAULTS } from '../src/config/index.js';
import { encodePixels } from '../src/pipeline/index.js';
import { ssimGrey } from '../src/quality/ssim.js';
import { pipelineLimits } from '../src/runtime.js';
import { butteraugli, corpusImages, corpusRenders, planesOf, ROOT, writePng } from './lib/corpus.js';

const limits = pipelineLimits(DEFAULTS);
const tmp = mkdtempSync(join(tmpdir(), 'metric-sweep-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const Q = { jpeg: [30, 38, 46, 54, 62, 70, 78, 86, 94], webp: [30, 38, 46, 54, 62, 70, 78, 86, 94], avif: [20, 26, 32, 38, 44, 50, 56, 62, 68, 74] } as const;
interface Row { image: string; alpha: boolean; format: string; q: number | 'ipx'; bytes: number; y: number; cb: number; cr: number; ba: number }
const CACHE = join(ROOT, '.cache/metric-sweep.json');
const ipx = createIPX({ storage: ipxFSStorage({ dir: ROOT }) });
const rows: Row[] = process.argv.includes('--from-cache') ? JSON.parse(readFileSync(CACHE, 'utf8')) as Row[] : [];

for await (const { image: { path, name: image }, alpha, box, format, pixels, spec } of corpusRenders(rows.length ? [] : corpusImages())) {
  const ref = await planesOf(pixels.data, pixels.raw);
  const refPng = await writePng(ref, join(tmp, `${n++}.png`));
  const theirs = Buffer.from((await ipx(path, { resize: box, fit: 'cover', format }).process()).data);
  for (const q of [...Q[format], 'ipx' as const]) {
    const body = q === 'ipx' ? theirs : await encodePixels(pixels, spec, { quality: q, best: true }, limits);
    const c = await planesOf(body);
    const ba = await butteraugli(refPng, await writePng(c, join(tmp, `${n++}.png`)));
    const { width: w, height: h } = ref;
    const row = { image, alpha, format, q, bytes: body.length, y: ssimGrey(ref.y, c.y, w, h), cb: ssimGrey(ref.cb, c.cb, w, h), cr: ssimGrey(ref.cr, c.cr, w, h), ba };
    rows.push(row);
    console.error(JSON.stringify(row));
  }
}
if (!process.argv.includes('--from-cache')) writeFileSync(CACHE, JSON.stringify(rows));

const images = [...new Set(rows.map((r) => r.image))];
// ipx flattens transparency onto black for JPEG, which every metric against white scores as ruined: left out there.
const transparent = new Set(rows.filter((r) => r.alpha).map((r) => r.image));
const chroma = (r: Row) => Math.min(r.cb, r.cr);
function rule(name: string, pass: ((r: Row, theirs: Row) => boolean) | 'ipx'): void {
  const cells = (['jpeg', 'webp', 'avif'] as const).map((format) => {
    let ours = 0, theirs = 0, lowest = 1;
    const ba: number[] = [];
    for (const image of images) {
      if (format === 'jpeg' && transparent.has(image)) continue;
      const grid = rows.filter((r) => r.image === image && r.format === format && r.q !== 'ipx').sort((a, b) => Number(a.q) - Number(b.q));
      const ipxRow = rows.find((r) => r.image === image && r.format === format && r.q === 'ipx') as Row;
      const pick = pass === 'ipx' ? ipxRow : grid.find((r) => pass(r, ipxRow)) ?? (grid.at(-1) as Row);
      ours += pick.bytes; theirs += ipxRow.bytes; lowest = Math.min(lowest, pick.y); ba.push(pick.ba);
    }
    ba.sort((a, b) => a - b);
    return `${(ours / theirs).toFixed(2)}× | ${(ba[ba.length >> 1] ?? NaN).toFixed(2)} | ${(ba.at(-1) ?? NaN).toFixed(2)} | ${lowest.toFixed(4)}`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
console.log('| rule | JPEG bytes ÷ ipx | butteraugli median | max | lowest SSIM | WebP ÷ ipx | median | max | lowest | AVIF ÷ ipx | median | max | lowest |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
rule('ipx\'s defaults themselves', 'ipx');
for (const t of [0.97, 0.975, 0.98]) rule(`luma SSIM ≥ ${t}`, (r) => r.y >= t);
for (const t of [0.96, 0.97, 0.98, 0.99]) rule(`luma SSIM ≥ 0.97 and chroma SSIM ≥ ${t}`, (r) => r.y >= 0.97 && chroma(r) >= t);
for (const t of [0.975, 0.98]) rule(`(6 luma + Cb + Cr) / 8 ≥ ${t}`, (r) => (6 * r.y + r.cb + r.cr) / 8 >= t);
rule('butteraugli ≤ ipx\'s, image by image', (r, t) => r.ba <= t.ba);
for (const b of [1.5, 1.8]) rule(`butteraugli ≤ ${b}`, (r) => r.ba <= b);
