/**
 * Measures the encoders on the corpus (bench/corpus/MANIFEST.tsv): per-format rate-distortion curves, auto quality
 * at the target against today's fast defaults ("before") and ipx's defaults, and AVIF against our WebP. Every image
 * is rendered as `800x600,cover,{format}`; SSIM is src/quality/ssim.ts against the lossless render of that derivative.
 * Writes the part of docs/encoders.md between its "measure-encoders" markers.
 * Run: node --import tsx scripts/measure-encoders.ts [--target 0.98] [--no-curves] [--no-doc] [--only path-substring]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createIPX, ipxFSStorage } from 'ipx';
import sharp from 'sharp';
import { DEFAULTS } from '../src/config/index.js';
import type { CanonicalSpec } from '../src/ops/spec.js';
import { encodePixels, render, type RenderedPixels } from '../src/pipeline/index.js';
import { AVIF_CHROMA, AVIF_EFFORT, BEST_EFFORT } from '../src/pipeline/encoders.js';
import { PROVISIONAL_QUALITY } from '../src/ops/defaults.js';
import { autoQuality } from '../src/quality/auto.js';
import { scorer, type Scorer } from '../src/quality/ssim.js';
import { pipelineLimits } from '../src/runtime.js';
import { corpusImages, corpusRenders, ROOT } from './lib/corpus.js';

const DOC = ROOT + 'docs/encoders.md';
const FORMATS = ['jpeg', 'webp', 'avif'] as const;
type Format = (typeof FORMATS)[number];
const CURVE_Q = [30, 45, 60, 75, 90];
const arg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const TARGET = Number(arg('target') ?? DEFAULTS.qualityTarget);
const CURVES = !process.argv.includes('--no-curves');

const corpus = corpusImages(arg('only'));
const limits = pipelineLimits(DEFAULTS);
const ipx = createIPX({ storage: ipxFSStorage({ dir: ROOT }) });
sharp.concurrency(availableParallelism());

interface Cell { bytes: number; ssim: number }
interface Result { image: string; kind: string; format: Format; box: string; alpha: boolean; before: Cell; after: Cell & { quality: number | null; ms: number }; ipx: Cell & { size: string } }
const results: Result[] = [];
/** Per format, per quality, per effort: summed bytes and every SSIM. */
const curves: Record<string, { bytes: number; ssims: number[] }> = {};

async function cell(score: Scorer, body: Buffer): Promise<Cell> {
  return { bytes: body.length, ssim: await score(body) };
}

async function curve(pixels: RenderedPixels, spec: CanonicalSpec, format: Format, score: Scorer): Promise<void> {
  // Only where the miss's and the re-encode's efforts differ is there a second curve.
  for (const best of format === 'avif' ? [false, true] : [false]) {
    for (const quality of CURVE_Q) {
      const body = await encodePixels(pixels, spec, { quality, best }, limits);
      const c = (curves[`${format} ${best ? 'best' : 'fast'} ${quality}`] ??= { bytes: 0, ssims: [] });
      c.bytes += body.length;
      c.ssims.push(await score(body));
    }
  }
}

for await (const { image: { path, kind }, source, box, alpha, format, spec, pixels } of corpusRenders(corpus, FORMATS)) {
  const score = await scorer(pixels.data, pixels.raw);
  const provisional = (await render(source, spec, limits, undefined, { provisional: true })).body;
  const before = await cell(score, provisional);
  const t = performance.now();
  const { best } = await autoQuality(pixels, spec, TARGET, limits, { provisional });
  const ms = performance.now() - t;
  // What the optimiser stores: the search's bytes only when smaller than the miss's, else the miss's.
  const after = best && best.body.length < before.bytes
    ? { bytes: best.body.length, ssim: best.ssim, quality: best.quality, ms }
    : { ...before, quality: null, ms };
  const theirs = await ipx(path, { resize: box, fit: 'cover', format }).process();
  const data = Buffer.from(theirs.data);
  const meta = await sharp(data).metadata();
  results.push({ image: path, kind, format, box, alpha, before, after, ipx: { ...(await cell(score, data)), size: `${meta.width}x${meta.height}` } });
  if (CURVES) await curve(pixels, spec, format, score);
  console.error(`${path} ${format}: before ${before.bytes} B ${before.ssim.toFixed(4)}, after ${after.bytes} B ${after.ssim.toFixed(4)} q${after.quality ?? '-'} in ${ms.toFixed(0)} ms, ipx ${data.length} B`);
}

const f4 = (n: number) => n.toFixed(4);
const x = (n: number) => `${n.toFixed(2)}×`;
const sum = (rs: Result[], pick: (r: Result) => number) => rs.reduce((a, r) => a + pick(r), 0);
const min = (rs: Result[], pick: (r: Result) => number) => Math.min(...rs.map(pick));
const of = (format: Format) => results.filter((r) => r.format === format);

const md: string[] = [];
md.push(`Measured by \`node --import tsx scripts/measure-encoders.ts\` on ${corpus.length} images (bench/corpus/MANIFEST.tsv:`
  + ` ${[...new Set(corpus.map((c) => c.kind))].map((k) => `${corpus.filter((c) => c.kind === k).length} ${k}`).join(', ')}),`
  + ' each as `800x600,cover,{format}` (sources smaller than that: the largest 4:3 box inside them),'
  + ` quality target SSIM ${TARGET}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}.`
  + ` "before": the miss's fast encode of a provisional derivative (JPEG q${PROVISIONAL_QUALITY.jpeg}, WebP q${PROVISIONAL_QUALITY.webp} effort 4, AVIF q${PROVISIONAL_QUALITY.avif} effort ${AVIF_EFFORT}${AVIF_CHROMA === '4:2:0' ? ' 4:2:0' : ''});`
  + ` "after": what the background re-encode stores (auto quality at WebP effort ${BEST_EFFORT.webp}, AVIF effort ${BEST_EFFORT.avif},`
  + ' kept only when smaller); ipx: its defaults (sharp\'s: JPEG q80, WebP q80, AVIF q50 effort 4), through its own API.');
md.push('');
md.push('### Against ipx\'s defaults');
md.push('');
md.push('| format | total bytes before | after | ipx | before / ipx | **after / ipx** | lowest SSIM before | after | ipx | lowest, opaque sources only: after | ipx | mean search ms |');
md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const format of FORMATS) {
  const rs = of(format);
  const b = sum(rs, (r) => r.before.bytes);
  const a = sum(rs, (r) => r.after.bytes);
  const i = sum(rs, (r) => r.ipx.bytes);
  // ipx flattens transparency onto black for JPEG, which SSIM (against white) scores near 0: shown apart.
  const opaque = rs.filter((r) => !r.alpha);
  md.push(`| ${format} | ${b} | ${a} | ${i} | ${x(b / i)} | **${x(a / i)}** | ${f4(min(rs, (r) => r.before.ssim))} | ${f4(min(rs, (r) => r.after.ssim))} | ${f4(min(rs, (r) => r.ipx.ssim))}`
    + ` | ${f4(min(opaque, (r) => r.after.ssim))} | ${f4(min(opaque, (r) => r.ipx.ssim))} | ${(sum(rs, (r) => r.after.ms) / rs.length).toFixed(0)} |`);
}
md.push('');
md.push('### AVIF against our WebP');
md.push('');
md.push('| | AVIF total / WebP total | lowest SSIM AVIF | lowest SSIM WebP |');
md.push('|---|---:|---:|---:|');
for (const when of ['before', 'after'] as const) {
  const avif = of('avif');
  const webp = of('webp');
  md.push(`| ${when} | ${x(sum(avif, (r) => r[when].bytes) / sum(webp, (r) => r[when].bytes))} | ${f4(min(avif, (r) => r[when].ssim))} | ${f4(min(webp, (r) => r[when].ssim))} |`);
}
md.push('');
md.push('### Per image (bytes, SSIM; q: the quality auto quality chose, `-` when the miss\'s bytes were kept)');
md.push('');
md.push('| image | kind | box | format | before | after | q | ipx |');
md.push('|---|---|---|---|---:|---:|---:|---:|');
for (const r of results) {
  md.push(`| ${r.image.split('/').pop()} | ${r.kind} | ${r.box} | ${r.format} | ${r.before.bytes} ${f4(r.before.ssim)} | ${r.after.bytes} ${f4(r.after.ssim)} | ${r.after.quality ?? '-'} | ${r.ipx.bytes} ${f4(r.ipx.ssim)}${r.ipx.size === r.box ? '' : ` (ipx ${r.ipx.size})`} |`);
}
if (CURVES) {
  md.push('');
  md.push('### Rate-distortion curves (the whole corpus at one fixed quality)');
  md.push('');
  md.push('| format | effort | q | total bytes | mean SSIM | lowest SSIM |');
  md.push('|---|---|---:|---:|---:|---:|');
  for (const [name, c] of Object.entries(curves)) {
    const [format, effort, q] = name.split(' ');
    md.push(`| ${format} | ${effort} | ${q} | ${c.bytes} | ${f4(c.ssims.reduce((a, s) => a + s, 0) / c.ssims.length)} | ${f4(Math.min(...c.ssims))} |`);
  }
}

const START = '<!-- measure-encoders:start -->';
const END = '<!-- measure-encoders:end -->';
const text = md.join('\n');
if (process.argv.includes('--no-doc')) {
  console.log(text);
} else {
  const doc = readFileSync(DOC, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/encoders.md has no ${START} … ${END} section`);
  writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n${text}\n${doc.slice(b)}`);
  console.error('wrote docs/encoders.md');
}
