import { BadRequest, expected } from '../errors/index.js';
import {
  FITS, GRAVITIES, OUTPUT_FORMATS, isFocalPoint,
  type Fit, type Gravity, type ParseLimits, type Position, type RequestedFormat, type Rotation, type TransformSpec,
} from './spec.js';
import { decimalRange, formatNumber, hexColour, intRange, oneOf, type Validator } from './validators.js';

/**
 * One row per URL option. The parser asks each row in turn whether it claims a token; the builder asks each
 * row, in table order, for its canonical token. Adding an option means adding a row, nothing else.
 */
export interface OpDef {
  /** Canonical name, as documented in docs/url-api.md. */
  name: string;
  aliases?: readonly string[];
  /**
   * The spec fields for a token this option owns, undefined for a token that is not this option's.
   * Throws BadRequest for a token that is this option's but malformed.
   */
  parse(token: string, limits: ParseLimits): Partial<TransformSpec> | undefined;
  /** The canonical token for the spec, or undefined when the spec holds this option's default. */
  build(spec: TransformSpec): string | undefined;
}

/** The largest blur sigma, in output pixels (after dpr): beyond it a blur costs seconds and shows nothing new. */
export const MAX_BLUR_SIGMA = 100;
export const MAX_DPR = 4;

const SIZE = /^(\d*)x(\d*)$/;
const SIDE = /^([wh])(.*)$/;

function dimension(text: string, max: number, axis: string, token: string): number | undefined {
  if (text === '') return undefined;
  const n = Number(text);
  if (!/^\d{1,6}$/.test(text) || n < 1 || n > max) {
    throw new BadRequest(expected(`a ${axis} between 1 and ${max}`, `size "${token}"`, text));
  }
  return n;
}

/**
 * A valued option `{prefix}{value}` claims a token that is its prefix followed by anything but a letter, so
 * `q7x` is quality's (and malformed) while `quality` or `right` stay free for other rows.
 */
function valueAfter(token: string, prefixes: readonly string[]): string | undefined {
  for (const prefix of [...prefixes].sort((a, b) => b.length - a.length)) {
    if (!token.startsWith(prefix)) continue;
    const rest = token.slice(prefix.length);
    if (prefix.endsWith('-') || !/^[a-z]/i.test(rest)) return rest;
  }
  return undefined;
}

function valued<K extends keyof TransformSpec>(def: {
  name: string;
  prefix: string;
  aliases?: readonly string[];
  field: K;
  validate: Validator<NonNullable<TransformSpec[K]>>;
  show: (value: NonNullable<TransformSpec[K]>) => string;
  expects: string;
}): OpDef {
  return {
    name: def.name,
    aliases: def.aliases,
    parse(token) {
      const text = valueAfter(token, [def.prefix, ...(def.aliases ?? [])]);
      if (text === undefined) return undefined;
      return { [def.field]: def.validate(text, `${def.name} (${def.expects})`) } as Partial<TransformSpec>;
    },
    build(spec) {
      const value = spec[def.field];
      return value === undefined ? undefined : `${def.prefix}${def.show(value as NonNullable<TransformSpec[K]>)}`;
    },
  };
}

/** A keyword option: one of a fixed set of words (plus alias words), stored in one field. */
function keywords<K extends keyof TransformSpec>(def: {
  name: string;
  field: K;
  words: Record<string, NonNullable<TransformSpec[K]>>;
  aliases?: Record<string, NonNullable<TransformSpec[K]>>;
}): OpDef {
  const all = new Map<string, unknown>([...Object.entries(def.words), ...Object.entries(def.aliases ?? {})]);
  return {
    name: def.name,
    aliases: Object.keys(def.aliases ?? {}),
    parse(token) {
      return all.has(token) ? ({ [def.field]: all.get(token) } as Partial<TransformSpec>) : undefined;
    },
    build(spec) {
      const value = spec[def.field];
      if (value === undefined) return undefined;
      return Object.keys(def.words).find((w) => def.words[w] === value);
    },
  };
}

type FlagField = { [K in keyof TransformSpec]-?: NonNullable<TransformSpec[K]> extends true ? K : never }[keyof TransformSpec];

/** A bare word that switches something on. */
function flag(name: string, field: FlagField, aliases: readonly string[] = []): OpDef {
  return {
    name,
    aliases,
    parse: (token) => (token === name || aliases.includes(token) ? { [field]: true } : undefined),
    build: (spec) => (spec[field] ? name : undefined),
  };
}

const identity = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as Record<T, T>;

export const sizeOp: OpDef = {
  name: 'size',
  aliases: ['wN', 'hN'],
  parse(token, limits) {
    const side = valueAfter(token, ['w', 'h']) !== undefined ? SIDE.exec(token) : null;
    if (side) {
      const [axis, max] = side[1] === 'w' ? ['width', limits.maxOutputWidth] as const : ['height', limits.maxOutputHeight] as const;
      const n = dimension(side[2] ?? '', max, axis, token);
      if (n === undefined) throw new BadRequest(expected(`a ${axis} between 1 and ${max}`, `size "${token}"`, ''));
      return { [axis]: n };
    }
    const m = SIZE.exec(token);
    if (!m) return undefined;
    const width = dimension(m[1] ?? '', limits.maxOutputWidth, 'width', token);
    const height = dimension(m[2] ?? '', limits.maxOutputHeight, 'height', token);
    if (width === undefined && height === undefined) {
      throw new BadRequest(expected('WxH, Wx or xH', 'size', token));
    }
    return { width, height };
  },
  build(spec) {
    if (spec.width === undefined && spec.height === undefined) return undefined;
    return `${spec.width ?? ''}x${spec.height ?? ''}`;
  },
};

export const fitOp = keywords({ name: 'fit', field: 'fit', words: identity<Fit>(FITS) });

// A Map, not an object literal: a token is user input, and `constructor` or `__proto__` must not find
// Object.prototype's members (they were accepted as positions, or crashed the request with a 500).
// The entries are kept as an array too: the edge function's stand-in Map has get/has but no iterators.
const GRAVITY_ALIASES: ReadonlyArray<readonly [string, Gravity]> = [
  ['centre', 'center'], ['top', 'north'], ['bottom', 'south'], ['left', 'west'], ['right', 'east'],
  ['top-left', 'northwest'], ['top-right', 'northeast'], ['bottom-left', 'southwest'], ['bottom-right', 'southeast'],
];
const gravityAliases = new Map<string, Gravity>(GRAVITY_ALIASES);

const fraction = decimalRange(0, 1);

export const positionOp: OpDef = {
  name: 'position',
  aliases: [...GRAVITY_ALIASES.map(([alias]) => alias), 'smart'],
  parse(token) {
    const named = keywordPosition(token);
    if (named) return { position: named };
    const text = valueAfter(token, ['fp-']);
    if (text === undefined) return undefined;
    const parts = text.split('-');
    if (parts.length !== 2) throw new BadRequest(expected('fp-X-Y with X and Y fractions between 0 and 1', 'focal point', token));
    const what = 'focal point (fp-X-Y)';
    return { position: { x: fraction(parts[0] ?? '', what), y: fraction(parts[1] ?? '', what) } };
  },
  build(spec) {
    const p = spec.position;
    if (p === undefined) return undefined;
    return isFocalPoint(p) ? `fp-${formatNumber(p.x)}-${formatNumber(p.y)}` : p;
  },
};

function keywordPosition(token: string): Exclude<Position, object> | undefined {
  if ((GRAVITIES as readonly string[]).includes(token)) return token as Gravity;
  if (token === 'attention' || token === 'entropy') return token;
  if (token === 'smart') return 'attention';
  return gravityAliases.get(token);
}

export const enlargeOp = flag('enlarge', 'enlarge', ['upscale']);

export const dprOp: OpDef = {
  ...valued({
    name: 'dpr', prefix: 'dpr', field: 'dpr', expects: `dpr1 to dpr${MAX_DPR}`,
    validate: decimalRange(1, MAX_DPR), show: formatNumber,
  }),
  aliases: ['@Nx'],
  parse(token) {
    const retina = /^@(.*)x$/.exec(token);
    const text = retina ? retina[1] ?? '' : valueAfter(token, ['dpr']);
    if (text === undefined) return undefined;
    return { dpr: decimalRange(1, MAX_DPR)(text, `dpr (dpr1 to dpr${MAX_DPR}, or @2x)`) };
  },
};

export const trimOp = flag('trim', 'trim');

const rotation = oneOf(['90', '180', '270'] as const);
export const rotateOp = valued({
  name: 'rotate', prefix: 'r', aliases: ['rot'], field: 'rotate', expects: 'r90, r180 or r270',
  validate: (text, option) => Number(rotation(text, option)) as Rotation, show: String,
});

export const flipOp = flag('flip', 'flip');
export const flopOp = flag('flop', 'flop', ['mirror']);

export const blurOp = valued({
  name: 'blur', prefix: 'blur', field: 'blur', expects: `blurN, sigma 0.3 to ${MAX_BLUR_SIGMA}`,
  validate: decimalRange(0.3, MAX_BLUR_SIGMA), show: formatNumber,
});

export const sharpenOp = flag('sharpen', 'sharpen', ['sharp']);

export const backgroundOp = valued({
  name: 'background', prefix: 'bg-', field: 'background', expects: 'bg-RRGGBB',
  validate: hexColour(), show: String,
});

export const formatOp = keywords({
  name: 'format', field: 'format',
  words: identity<RequestedFormat>([...OUTPUT_FORMATS, 'auto']),
  aliases: { jpg: 'jpeg' },
});

export const qualityOp = valued({
  name: 'quality', prefix: 'q', field: 'quality', expects: 'q1 to q100',
  validate: intRange(1, 100), show: String,
});

export const losslessOp = flag('lossless', 'lossless');
export const progressiveOp = flag('progressive', 'progressive', ['interlace']);
export const keepIccOp = flag('keepicc', 'keepIcc', ['keep-icc']);

/** `original`: no transform options at all (re-encoded, metadata stripped). The builder's spelling of an empty spec. */
export const originalOp: OpDef = {
  name: 'original',
  parse: (token) => (token === 'original' ? {} : undefined),
  build: () => undefined,
};

/** Table order is canonical order. */
export const OPS: readonly OpDef[] = [
  sizeOp, fitOp, positionOp, enlargeOp, dprOp,
  trimOp, rotateOp, flipOp, flopOp, blurOp, sharpenOp, backgroundOp,
  formatOp, qualityOp, losslessOp, progressiveOp, keepIccOp,
  originalOp,
];
