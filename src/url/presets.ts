import { BadRequest, expected } from '../errors/index.js';
import type { ParseLimits } from '../ops/spec.js';
import { OPS } from '../ops/table.js';
import { parseSegment, SEPARATOR } from './segment.js';

/** Named transforms from the config (`thumb=150x150,cover,webp`), by name. A Map: names are looked up by user input. */
export type Presets = ReadonlyMap<string, string>;

const NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Parses `name=options` definitions (the `--preset` flag, repeatable, or RESIZER_PRESETS separated by `;`).
 * A name must not be a word any option claims (`cover`, `q80`, `w100`, ...), and its options must parse.
 * Throws an Error naming the bad definition.
 */
export function parsePresets(text: string, limits: ParseLimits): Map<string, string> {
  const presets = new Map<string, string>();
  for (const definition of text.split(';').map((d) => d.trim()).filter(Boolean)) {
    const eq = definition.indexOf('=');
    const name = eq < 0 ? definition : definition.slice(0, eq).trim();
    const options = eq < 0 ? '' : definition.slice(eq + 1).trim();
    if (!NAME.test(name)) throw new Error(expected('a preset name of lower-case letters, digits, - and _', 'preset', name));
    if (name === 'original' || name.startsWith('s-') || OPS.some((op) => claims(op.parse.bind(op), name, limits))) {
      throw new Error(`Preset name "${name}" is already an option's word`);
    }
    if (presets.has(name)) throw new Error(`Preset "${name}" is defined twice`);
    try {
      parseSegment(options, limits);
    } catch (err) {
      throw new Error(`Preset "${name}": ${(err as Error).message}`, { cause: err });
    }
    presets.set(name, options);
  }
  return presets;
}

function claims(parse: (token: string, limits: ParseLimits) => unknown, token: string, limits: ParseLimits): boolean {
  try {
    return parse(token, limits) !== undefined;
  } catch {
    return true;
  }
}

export interface Expanded {
  /** The segment with every preset name replaced by its options. */
  segment: string;
  /** The preset's name when the segment is exactly one preset (what unsigned requests may ask for). */
  preset?: string;
}

/** Replaces preset names among a segment's tokens; done before parsing, so derivative keys never name a preset. */
export function expandPresets(segment: string, presets: Presets): Expanded {
  if (presets.size === 0) return { segment };
  const tokens = segment.split(SEPARATOR);
  const only = tokens.length === 1 && presets.has(segment) ? segment : undefined;
  const expanded = tokens.map((t) => presets.get(t) ?? t).join(SEPARATOR);
  if (expanded.length > 2048) throw new BadRequest('Options segment too long after expanding presets');
  return only === undefined ? { segment: expanded } : { segment: expanded, preset: only };
}
