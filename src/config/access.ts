import { readFileSync } from 'node:fs';
import type { AccessRules } from '../url/gate.js';
import { parsePresets } from '../url/presets.js';
import { parseSegment } from '../url/segment.js';

/** The access settings of the config (declared here, not imported: config/index.ts imports this module). */
export interface AccessConfig {
  signingKeys: string;
  signingKeyFile: string;
  presets: string;
  allowedWidths: string;
  allowedHeights: string;
  allowedSegments: string;
  presetsOnly: boolean;
  production: boolean;
  maxOutputWidth: number;
  maxOutputHeight: number;
}

/** Shorter keys can be brute-forced offline from one signed URL. */
export const MIN_SIGNING_KEY_LENGTH = 16;

const list = (text: string, separator: string) => text.split(separator).map((s) => s.trim()).filter(Boolean);
const numbers = (text: string) => new Set(list(text, ',').map(Number));

/** The keys from --signing-key / RESIZER_SIGNING_KEYS, then those in --signing-key-file (one a line, # comments). */
export function signingKeysOf(c: Pick<AccessConfig, 'signingKeys' | 'signingKeyFile'>): string[] {
  const inline = list(c.signingKeys, ',');
  const fromFile = c.signingKeyFile
    ? readFileSync(c.signingKeyFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : [];
  return [...inline, ...fromFile];
}

/** The gate's rules from the config. Throws on what accessProblems reports. */
export function accessRulesOf(c: AccessConfig): AccessRules {
  const limits = { maxOutputWidth: c.maxOutputWidth, maxOutputHeight: c.maxOutputHeight };
  const segments = list(c.allowedSegments, ';');
  for (const s of segments) parseSegment(s, limits);
  return {
    signingKeys: signingKeysOf(c),
    presets: parsePresets(c.presets, limits),
    allowedWidths: numbers(c.allowedWidths),
    allowedHeights: numbers(c.allowedHeights),
    allowedSegments: new Set(segments),
    presetsOnly: c.presetsOnly,
  };
}

/** Start-up checks of the access settings, as [setting, message] pairs. */
export function accessProblems(c: AccessConfig): Array<[keyof AccessConfig, string]> {
  const problems: Array<[keyof AccessConfig, string]> = [];
  const limits = { maxOutputWidth: c.maxOutputWidth, maxOutputHeight: c.maxOutputHeight };
  let keys: string[] = [];
  try {
    keys = signingKeysOf(c);
  } catch (err) {
    problems.push(['signingKeyFile', `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  if (keys.some((k) => k.length < MIN_SIGNING_KEY_LENGTH)) {
    problems.push(['signingKeys', `expected keys of at least ${MIN_SIGNING_KEY_LENGTH} characters`]);
  }
  let presets = new Map<string, string>();
  try {
    presets = parsePresets(c.presets, limits);
  } catch (err) {
    problems.push(['presets', (err as Error).message]);
  }
  for (const segment of list(c.allowedSegments, ';')) {
    try {
      parseSegment(segment, limits);
    } catch (err) {
      problems.push(['allowedSegments', `"${segment}": ${(err as Error).message}`]);
    }
  }
  if (c.presetsOnly && presets.size === 0) problems.push(['presetsOnly', 'needs at least one --preset']);
  const allowlist = numbers(c.allowedWidths).size > 0 || numbers(c.allowedHeights).size > 0 || list(c.allowedSegments, ';').length > 0;
  // An open resizer is a free CPU and disk for anyone: production needs some rule on what may be asked for.
  if (c.production && keys.length === 0 && !c.presetsOnly && !allowlist) {
    problems.push(['production', 'needs a signing key (--signing-key or --signing-key-file), --presets-only or an allowlist (--allowed-widths, --allowed-heights, --allowed-segments)']);
  }
  return problems;
}
