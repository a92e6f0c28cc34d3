/**
 * Experiment: does equal luma SSIM mean equal perceived quality across formats? Scores the corpus's derivatives
 * with butteraugli (libjxl's butteraugli_main, Debian libjxl-devtools; 3-norm, lower is better) against the lossless
 * render, and finds per image the fewest AVIF bytes (q sweep at best effort) that score no worse than our WebP.
 * Needs butteraugli_main (`apt-get install libjxl-devtools`; not a dependency of the service or its tests).
 * Run: node --import tsx scripts/perceptual-check.ts [--only path-substring]   (~15 min on 2 cores)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIPX, ipxFSStorage } from 'ipx';
import type { SharpOptions } from 'sharp';
import { DEFAULTS } from '../src/config/index.js';
import { encodePixels, render } from '../src/pipeline/index.js';
import { autoQuality } from '../src/quality/auto.js';
import { scorer } from '../src/quality/ssim.js';
import { pipelineLimits } from '../src/runtime.js';
import { butteraugli, corpusImages, corpusRenders, planesOf, ROOT, writePng } from './lib/corpus.js';

const arg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const corpus = corpusImages(arg('only'));
const limits = pipelineLimits(DEFAULTS);
const ipx = createIPX({ storage: ipxFSStorage({ dir: ROOT }) });
const tmp = mkdtempSync(join(tmpdir(), 'perceptual-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const png = async (img: Buffer, raw?: SharpOptions['raw']) => writePng(await planesOf(img, raw), join(tmp, `${n++}.png`));

interface Row { image: string; alpha: boolean; format: string; bytes: number; ssim: number; ba: number; q: number | string }
const rows: Row[] = [];
const SWEEP = [20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72];

for await (const { image: { path, name: image }, source, box, alpha, format, spec, pixels } of corpusRenders(corpus)) {
  const ref = await png(pixels.data, pixels.raw);
  const score = await scorer(pixels.data, pixels.raw);
  const provisional = (await render(source, spec, limits, undefined, { provisional: true })).body;
  const { best } = await autoQuality(pixels, spec, DEFAULTS.qualityTarget, limits, { provisional });
  const after = best && best.body.length < provisional.length ? best.body : provisional;
  const add = async (tag: string, body: Buffer, q: number | string) => {
    const row = { image, alpha, format: tag, bytes: body.length, ssim: await score(body), ba: await butteraugli(ref, await png(body)), q };
    rows.push(row);
    console.error(`${image} ${tag} q${q}: ${row.bytes} B ssim ${row.ssim.toFixed(4)} butteraugli ${row.ba.toFixed(3)}`);
  };
  await add(`${format}-after`, after, best && after === best.body ? best.quality : 'prov');
  const theirs = Buffer.from((await ipx(path, { resize: box, fit: 'cover', format }).process()).data);
  await add(`${format}-ipx`, theirs, 'ipx');
  if (format === 'avif') {
    for (const q of SWEEP) await add('avif-sweep', await encodePixels(pixels, spec, { quality: q, best: true }, limits), q);
  }
}
writeFileSync(join(ROOT, '.cache/perceptual.json'), JSON.stringify(rows, null, 1));
const f = (x: number) => x.toFixed(3);
let avifAtWebp = 0, avifAtJpeg = 0, lowestSsim = 1;
for (const image of [...new Set(rows.map((r) => r.image))]) {
  const get = (tag: string) => rows.find((r) => r.image === image && r.format === tag) as Row;
  const webp = get('webp-after');
  const jpeg = get('jpeg-after');
  const sweep = rows.filter((r) => r.image === image && r.format === 'avif-sweep');
  const fit = (ba: number) => sweep.filter((r) => r.ba <= ba).sort((a, b) => a.bytes - b.bytes)[0] ?? get('avif-after');
  const w = fit(webp.ba);
  const j = fit(jpeg.ba);
  avifAtWebp += w.bytes; avifAtJpeg += j.bytes; lowestSsim = Math.min(lowestSsim, w.ssim);
  console.log(`${image}: webp ${webp.bytes} B ba ${f(webp.ba)} | jpeg ${jpeg.bytes} ba ${f(jpeg.ba)} | avif now ${get('avif-after').bytes} ba ${f(get('avif-after').ba)} ssim ${get('avif-after').ssim.toFixed(4)} | avif at webp's ba: q${w.q} ${w.bytes} B ssim ${w.ssim.toFixed(4)} | ipx avif ${get('avif-ipx').bytes} ba ${f(get('avif-ipx').ba)}`);
}
const total = (tag: string) => rows.filter((r) => r.format === tag).reduce((a, r) => a + r.bytes, 0);
for (const format of ['jpeg', 'webp', 'avif']) {
  for (const who of ['after', 'ipx']) {
    const rs = rows.filter((r) => r.format === `${format}-${who}` && !(format === 'jpeg' && r.alpha));
    const ba = rs.map((r) => r.ba).sort((a, b) => a - b);
    console.log(`${format} ${who}: ${rs.length} images, ${rs.reduce((a, r) => a + r.bytes, 0)} B, butteraugli median ${f(ba[ba.length >> 1] ?? NaN)} max ${f(ba.at(-1) ?? NaN)}, lowest SSIM ${Math.min(...rs.map((r) => r.ssim)).toFixed(4)}`);
  }
}
console.log(`totals: webp ${total('webp-after')}, jpeg ${total('jpeg-after')}, avif now ${total('avif-after')}, avif at webp's butteraugli ${avifAtWebp} (lowest ssim ${lowestSsim.toFixed(4)}), at jpeg's ${avifAtJpeg}, ipx avif ${total('avif-ipx')}`);
