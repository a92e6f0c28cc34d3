/** Image formats by their magic bytes: the file name and the store's content type are not trusted. */
export type SourceFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'heic' | 'tiff' | 'svg' | 'jxl' | 'unknown';
export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif';

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
};

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

export function sniff(buf: Buffer): SourceFormat {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (buf.length >= 6 && (buf.toString('latin1', 0, 6) === 'GIF87a' || buf.toString('latin1', 0, 6) === 'GIF89a')) return 'gif';
  if (buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (buf.length >= 4 && (buf.readUInt32BE(0) === 0x49492a00 || buf.readUInt32BE(0) === 0x4d4d002a)) return 'tiff';
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0x0a) return 'jxl';
  if (buf.length >= 12 && buf.toString('latin1', 4, 8) === 'ftyp') return isoBmff(buf);
  if (looksLikeSvg(buf)) return 'svg';
  return 'unknown';
}

/** HEIF container: AVIF (AV1, decodable) or HEIC (HEVC, not in sharp's prebuilt libvips). */
function isoBmff(buf: Buffer): SourceFormat {
  const boxSize = Math.min(buf.readUInt32BE(0), buf.length, 256);
  const brands = [buf.toString('latin1', 8, 12)];
  for (let i = 16; i + 4 <= boxSize; i += 4) brands.push(buf.toString('latin1', i, i + 4));
  if (brands.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  if (brands.some((b) => HEIC_BRANDS.has(b))) return 'heic';
  return brands.includes('mif1') || brands.includes('msf1') ? 'heic' : 'unknown';
}

function looksLikeSvg(buf: Buffer): boolean {
  const head = buf.toString('utf8', 0, Math.min(buf.length, 1024)).replace(/^\uFEFF/, '').trimStart();
  if (!head.startsWith('<')) return false;
  return /<svg[\s>]/i.test(head) || (head.startsWith('<?xml') && /<svg/i.test(buf.toString('utf8', 0, Math.min(buf.length, 4096))));
}

/** Output format when the request names none: the source's, or the closest one a browser can show. */
export function defaultOutputFormat(source: SourceFormat, hasAlpha: boolean): OutputFormat {
  switch (source) {
    case 'jpeg': case 'png': case 'webp': case 'gif': case 'avif': return source;
    // Rasterised SVG keeps its transparency and sharp edges; it is never sent back as SVG.
    case 'svg': return 'png';
    default: return hasAlpha ? 'png' : 'jpeg';
  }
}

/** Formats whose encoder writes every frame; the others get the first frame of an animation. */
export function canAnimate(format: OutputFormat): boolean {
  return format === 'gif' || format === 'webp';
}

/** Formats that keep an alpha channel; others are flattened onto the background colour. */
export function hasAlphaChannel(format: OutputFormat): boolean {
  return format !== 'jpeg';
}
