/**
 * Child process that reads and rasterises one SVG: bytes on stdin, the target (a JSON SvgTarget, or a fixed
 * density) and pixel limit as arguments; a JSON header line then raw RGBA pixels on stdout. A separate process
 * because librsvg cannot be interrupted: a hostile file can hold a libvips thread for minutes past sharp's
 * timeout, and only a kill bounds it. The header is read here too: parsing a 1 MiB SVG of 149k elements took
 * 1.3 s and ~190 MB, which belong under this process's time and memory bounds, not the server's.
 * Exit code 3: a refusal whose public message is on stderr.
 */
import sharp from 'sharp';
import { REFUSED_EXIT_CODE, SVG_DPI, svgDensity, type SvgTarget } from './svg-density.js';

async function main(): Promise<void> {
  const [targetArg = String(SVG_DPI), maxPixelsArg = '0'] = process.argv.slice(2);
  const maxPixels = Number(maxPixelsArg);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const svg = Buffer.concat(chunks);
  sharp.cache(false);
  sharp.concurrency(1);
  let density: number;
  if (/^[\d.]+$/.test(targetArg)) density = Number(targetArg);
  else {
    const meta = await sharp(svg, { limitInputPixels: false }).metadata();
    const nominal = { width: meta.width ?? 1, height: meta.height ?? 1 };
    if (maxPixels > 0 && nominal.width * nominal.height > maxPixels) {
      process.stderr.write(`Image is ${nominal.width}x${nominal.height}, over the limit of ${maxPixels} pixels`);
      process.exitCode = REFUSED_EXIT_CODE;
      return;
    }
    density = svgDensity(JSON.parse(targetArg) as SvgTarget, nominal, maxPixels);
  }
  const { data, info } = await sharp(svg, { density, limitInputPixels: maxPixels })
    .ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  process.stdout.write(`${JSON.stringify({ width: info.width, height: info.height, channels: info.channels })}\n`);
  process.stdout.write(data);
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
});
