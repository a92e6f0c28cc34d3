import { parse as parseIcc } from 'icc';
import sharp from 'sharp';
import { derivativeKey } from '../keys/index.js';
import type { Config } from '../config/index.js';
import { ResizerError } from '../errors/index.js';
import { httpSourceOptionsOf, openDerivativeStore, openSourceStore, s3SettingsOf } from '../storage/open.js';
import type { DerivativeStore, SourceStore } from '../storage/types.js';
import { encodeKey } from '../url/path.js';
import { configOrExitCode } from './load-config.js';

export interface DerivativeInfo {
  segment: string;
  /** The URL that answers with it: `/{segment}/{key}`. */
  url: string;
  bytes: number;
  contentType: string;
  width?: number;
  height?: number;
}

export interface SourceInfoReport {
  key: string;
  store: string;
  bytes: number;
  etag: string;
  lastModified: string;
  format: string;
  /** As stored, before EXIF orientation. */
  width: number;
  height: number;
  /** As shown, after EXIF orientation (what `original` and every size start from). */
  displayWidth: number;
  displayHeight: number;
  orientation: number | null;
  space: string;
  channels: number;
  depth: string;
  hasAlpha: boolean;
  progressive: boolean;
  frames: number;
  icc: { description: string | null; colorSpace: string | null; version: string | null; bytes: number } | null;
  derivatives: DerivativeInfo[];
}

/** Reads one source's header (never its pixels) and every derivative of it the store holds. */
export async function describeSource(key: string, sources: SourceStore, derivatives: DerivativeStore | null, maxBytes: number): Promise<SourceInfoReport> {
  const source = await sources.get(key, { maxBytes });
  const meta = await sharp(source.body, { limitInputPixels: false }).metadata();
  return {
    key,
    store: sources.description,
    bytes: source.size,
    etag: source.etag,
    lastModified: source.lastModified.toISOString(),
    format: meta.format,
    width: meta.width,
    height: meta.height,
    displayWidth: meta.autoOrient.width,
    displayHeight: meta.autoOrient.height,
    orientation: meta.orientation ?? null,
    space: meta.space,
    channels: meta.channels,
    depth: meta.depth,
    hasAlpha: meta.hasAlpha,
    progressive: meta.isProgressive,
    frames: meta.pages ?? 1,
    icc: meta.icc ? iccOf(meta.icc) : null,
    derivatives: derivatives ? await derivativesOf(key, derivatives) : [],
  };
}

function iccOf(profile: Buffer): NonNullable<SourceInfoReport['icc']> {
  try {
    const p = parseIcc(profile);
    return { description: p.description ?? null, colorSpace: p.colorSpace ?? null, version: p.version ?? null, bytes: profile.length };
  } catch {
    // A profile libvips accepts but the parser does not: still say one is there.
    return { description: null, colorSpace: null, version: null, bytes: profile.length };
  }
}

/** Every segment the store holds is a candidate (the layout is `{segment}/{key}`); the ones present are listed. */
async function derivativesOf(key: string, store: DerivativeStore): Promise<DerivativeInfo[]> {
  const found: DerivativeInfo[] = [];
  for await (const segment of store.listSegments()) {
    const d = await store.get(derivativeKey(segment, key));
    if (!d) continue;
    const meta = await sharp(d.body).metadata().catch(() => undefined);
    found.push({
      segment,
      url: `/${segment}/${encodeKey(key)}`,
      bytes: d.body.length,
      contentType: d.contentType,
      ...(meta ? { width: meta.autoOrient.width, height: meta.autoOrient.height } : {}),
    });
  }
  return found.sort((a, b) => a.segment.localeCompare(b.segment));
}

function text(r: SourceInfoReport): string {
  const icc = r.icc ? `${r.icc.description ?? 'unnamed profile'} (${r.icc.colorSpace ?? '?'}, ICC v${r.icc.version ?? '?'}, ${r.icc.bytes} bytes)` : 'none';
  const turned = r.displayWidth !== r.width || r.displayHeight !== r.height ? `, shown ${r.displayWidth}x${r.displayHeight}` : '';
  const lines = [
    `${r.key} in ${r.store}`,
    `  format       ${r.format}${r.progressive ? ' (progressive)' : ''}`,
    `  dimensions   ${r.width}x${r.height}${turned}`,
    `  orientation  ${r.orientation ?? 'none'}`,
    `  colour       ${r.space}, ${r.channels} channel(s), ${r.depth}${r.hasAlpha ? ', alpha' : ''}`,
    `  icc          ${icc}`,
    `  frames       ${r.frames}`,
    `  bytes        ${r.bytes}`,
    `  modified     ${r.lastModified} ${r.etag}`,
    `  derivatives  ${r.derivatives.length}`,
    ...r.derivatives.map((d) => `    ${d.url}  ${d.contentType} ${d.width ?? '?'}x${d.height ?? '?'} ${d.bytes} bytes`),
  ];
  return lines.join('\n');
}

/** `resizer info <key>`: 0 with the report, 1 when the source cannot be read, 2 for bad settings. */
export async function infoCommand(key: string, json: boolean, flags: Partial<Record<keyof Config, string>>): Promise<number> {
  const config = configOrExitCode(flags);
  if (typeof config === 'number') return config;
  const settings = s3SettingsOf(config);
  try {
    const report = await describeSource(key, await openSourceStore(config.source, settings, httpSourceOptionsOf(config)), await openDerivativeStore(config.cache, settings), config.maxSourceBytes);
    console.log(json ? JSON.stringify(report, null, 2) : text(report));
    return 0;
  } catch (err) {
    if (err instanceof ResizerError) {
      console.error(`resizer: ${err.message}`);
      return 1;
    }
    // sharp: not an image it can read.
    console.error(`resizer: cannot read ${key} as an image: ${(err as Error).message}`);
    return 1;
  }
}
