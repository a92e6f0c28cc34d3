/**
 * The ceiling of any intermediate for the srcset workload (issue 14): per source, the bare loop's six transforms
 * (decode, resize, WebP encode) against the six WebP encodes alone from pixels already in memory, plus one
 * decode of the source, the least any scheme that reads the source must do. One libvips thread, one transform at
 * a time, alternating rounds; CPU time of this process (what bounds throughput at c = 2 on 2 cores).
 * Run: node --import tsx bench/srcset-bound.ts [fixture path ...]
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { encoders } from './lib/encoders.js';

sharp.cache(false);
sharp.concurrency(1);
const WIDTHS = [320, 480, 640, 960, 1280, 1920];
const files = process.argv.slice(2);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
async function cpuOf(run: () => Promise<unknown>): Promise<number> {
  const c0 = cpu();
  await run();
  return cpu() - c0;
}

for (const file of files) {
  const buf = readFileSync(file);
  // The resized pixels of every width, made once: what an encoder would get from a free decode and resize.
  const pixels = await Promise.all(WIDTHS.map(async (width) => {
    const { data, info } = await sharp(buf).rotate().resize({ width, withoutEnlargement: true }).raw().toBuffer({ resolveWithObject: true });
    return { data, raw: { width: info.width, height: info.height, channels: info.channels } };
  }));
  const bare = async () => { for (const width of WIDTHS) await encoders.encode(sharp(buf).rotate().resize({ width, withoutEnlargement: true }), 'webp').toBuffer(); };
  const encodes = async () => { for (const p of pixels) await encoders.encode(sharp(p.data, { raw: p.raw }), 'webp').toBuffer(); };
  const decode = () => sharp(buf).rotate().resize({ width: 2048, withoutEnlargement: true }).raw().toBuffer();
  const r = { bare: [] as number[], encodes: [] as number[], decode: [] as number[] };
  await bare(); await encodes(); await decode();
  for (let k = 0; k < 5; k++) {
    r.bare.push(await cpuOf(bare));
    r.encodes.push(await cpuOf(encodes));
    r.decode.push(await cpuOf(decode));
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const [b, e, d] = [med(r.bare), med(r.encodes), med(r.decode)];
  console.log(`${file.split('/').pop()}: per source (six widths, CPU ms, medians of 5): bare loop ${b.toFixed(0)}; the six encodes alone ${e.toFixed(0)}; `
    + `one decode of the source to 2048 px ${d.toFixed(0)}; ceiling with encodes only ${(b / e).toFixed(2)}x, with encodes + one decode ${(b / (e + d)).toFixed(2)}x`);
}
