/**
 * Child process that rasterises one SVG: bytes on stdin, density and pixel limit as arguments; a JSON header
 * line then raw RGBA pixels on stdout. A separate process because librsvg cannot be interrupted: a hostile
 * file can hold a libvips thread for minutes past sharp's timeout, and only a kill bounds it.
 */
import sharp from 'sharp';

async function main(): Promise<void> {
  const [density = 72, maxPixels = 0] = process.argv.slice(2).map(Number);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  sharp.cache(false);
  sharp.concurrency(1);
  const { data, info } = await sharp(Buffer.concat(chunks), { density, limitInputPixels: maxPixels })
    .ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  process.stdout.write(`${JSON.stringify({ width: info.width, height: info.height, channels: info.channels })}\n`);
  process.stdout.write(data);
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
});
