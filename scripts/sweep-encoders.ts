/**
 * The choices behind the encoder defaults, measured on the corpus (bench/corpus/MANIFEST.tsv) the way
 * scripts/measure-encoders.ts measures the defaults: every image as `800x600,cover,{format}`, the miss's encode
 * ("provisional") at the format's default quality, then the background search (src/quality/search.ts) at the
 * variant's settings, keeping the search's bytes only when smaller, as src/quality/auto.ts does (its target never above
 * the provisional's own SSIM). One variant changes one thing against the defaults before issue 13's last changes.
 * Prints a markdown table per format: total bytes, lowest luma SSIM (all sources, opaque only), and the lowest
 * chroma SSIM (Cb, Cr: what luma SSIM does not see, e.g. chroma subsampling).
 * Run: node --import tsx scripts/sweep-encoders.ts [--format avif|jpeg|webp] [--only variant-substring]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sharp, { type AvifOptions, type JpegOptions, type WebpOptions } from 'sharp';
import { DEFAULTS } from '../src/config/index.js';
import { DEFAULT_QUALITY } from '../src/ops/defaults.js';
import { renderPixels, type RenderedPixels } from '../src/pipeline/index.js';
import { QUALITY_RANGE } from '../src/quality/auto.js';
import { searchQuality } from '../src/quality/search.js';
import { scorer, ssimGrey } from '../src/quality/ssim.js';
import { pipelineLimits } from '../src/runtime.js';
import { parseSegment } from '../src/url/segment.js';
import { boxOf, corpusImages, planesOf, ROOT } from './lib/corpus.js';

const arg = (name: string) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? process.argv[i + 1] : undefined; };
const limits = pipelineLimits(DEFAULTS);
sharp.concurrency(1);

type Format = 'jpeg' | 'webp' | 'avif';
type Opts = JpegOptions | WebpOptions | AvifOptions;
interface Variant {
  name: string;
  format: Format;
  /** The miss's settings (quality is the format's default unless given). */
  miss: Opts;
  /** The search's settings. */
  best: Opts;
  target?: number;
  range?: readonly [number, number];
  /** The miss's quality, when not the format's default. */
  missQ?: number;
}

const JPEG: JpegOptions = { trellisQuantisation: true, overshootDeringing: true, quantisationTable: 3 };
const AVIF0: AvifOptions = { effort: 0 };
const AVIF4: AvifOptions = { effort: 4 };
const sub = (o: AvifOptions, s: string): AvifOptions => ({ ...o, chromaSubsampling: s });
const VARIANTS: Variant[] = [
  { name: 'avif before (miss q60 e0 4:4:4, search e4 4:4:4)', format: 'avif', miss: AVIF0, best: AVIF4 },
  { name: 'avif search 4:2:0', format: 'avif', miss: AVIF0, best: sub(AVIF4, '4:2:0') },
  { name: 'jpeg before (table 3, trellis, miss q80)', format: 'jpeg', miss: JPEG, best: JPEG },
  ...[0, 1, 2, 4, 5, 6, 7, 8].map((t): Variant => ({ name: `jpeg table ${t}`, format: 'jpeg', miss: { ...JPEG, quantisationTable: t }, best: { ...JPEG, quantisationTable: t } })),
  ...[85, 88, 90].map((q): Variant => ({ name: `jpeg miss q${q}`, format: 'jpeg', miss: JPEG, best: JPEG, missQ: q })),
  ...[83, 85].map((q): Variant => ({ name: `jpeg table 0, miss q${q}`, format: 'jpeg', miss: { ...JPEG, quantisationTable: 0 }, best: { ...JPEG, quantisationTable: 0 }, missQ: q })),
  ...[83, 85].map((q): Variant => ({ name: `jpeg table 2, miss q${q}`, format: 'jpeg', miss: { ...JPEG, quantisationTable: 2 }, best: { ...JPEG, quantisationTable: 2 }, missQ: q })),
  ...[62, 63, 64].map((q): Variant => ({ name: `avif miss q${q}`, format: 'avif', miss: AVIF0, best: AVIF4, missQ: q })),
];

const corpus = corpusImages().map((c) => c.path);

function encode(p: RenderedPixels, format: Format, o: Opts, quality: number): Promise<Buffer> {
  const img = sharp(p.data, { raw: p.raw });
  if (format === 'jpeg') return img.jpeg({ ...(o as JpegOptions), quality }).toBuffer();
  if (format === 'webp') return img.webp({ ...(o as WebpOptions), quality }).toBuffer();
  return img.avif({ ...(o as AvifOptions), quality }).toBuffer();
}

interface Row { image: string; alpha: boolean; bytes: number; ssim: number; chroma: number; q: number | null; ms: number }
const only = arg('only');
const formatArg = arg('format');
const pixelsCache = new Map<string, { pixels: RenderedPixels; alpha: boolean }>();

for (const v of VARIANTS.filter((x) => (!formatArg || x.format === formatArg) && (!only || x.name.includes(only)))) {
  const rows: Row[] = [];
  for (const path of corpus) {
    const source = readFileSync(ROOT + path);
    const key = `${path} ${v.format}`;
    let entry = pixelsCache.get(key);
    if (!entry) {
      const { box, alpha } = await boxOf(source);
      entry = { pixels: await renderPixels(source, parseSegment(`${box},cover,${v.format}`, DEFAULTS), limits), alpha };
      pixelsCache.set(key, entry);
    }
    const { pixels, alpha } = entry;
    const score = await scorer(pixels.data, pixels.raw);
    const refC = await planesOf(pixels.data, pixels.raw);
    const chromaOf = async (body: Buffer) => {
      const c = await planesOf(body, undefined, refC);
      return Math.min(ssimGrey(refC.cb, c.cb, refC.width, refC.height), ssimGrey(refC.cr, c.cr, refC.width, refC.height));
    };
    const provisional = await encode(pixels, v.format, v.miss, v.missQ ?? DEFAULT_QUALITY[v.format]);
    const reached = await score(provisional);
    const target = v.target ?? DEFAULTS.qualityTarget;
    const [min, max] = v.range ?? QUALITY_RANGE[v.format];
    const t = performance.now();
    const best = (await searchQuality({ encode: (q) => encode(pixels, v.format, v.best, q), score, min, max, maxEncodes: 6, target: Math.min(target, reached) })).best;
    const ms = performance.now() - t;
    const body = best && best.body.length < provisional.length ? best.body : provisional;
    rows.push({ image: path.split('/').pop() ?? path, alpha, bytes: body.length, ssim: best && body === best.body ? best.ssim : reached, chroma: await chromaOf(body), q: best && body === best.body ? best.quality : null, ms });
  }
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  const low = Math.min(...rows.map((r) => r.ssim));
  const lowOpaque = Math.min(...rows.filter((r) => !r.alpha).map((r) => r.ssim));
  const lowRow = rows.find((r) => r.ssim === low);
  const lowChroma = Math.min(...rows.map((r) => r.chroma));
  const meanMs = rows.reduce((a, r) => a + r.ms, 0) / rows.length;
  console.log(`| ${v.name} | ${total} | ${low.toFixed(4)} (${lowRow?.image}) | ${lowOpaque.toFixed(4)} | ${lowChroma.toFixed(4)} | ${meanMs.toFixed(0)} |`);
  if (process.argv.includes('--rows')) for (const r of rows) console.log(`  ${r.image} ${r.bytes} ${r.ssim.toFixed(4)} chroma ${r.chroma.toFixed(4)} q${r.q ?? '-'}`);
}
