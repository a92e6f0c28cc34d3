import { BadRequest, expected } from '../errors/index.js';
import type { ParseLimits, TransformSpec } from './spec.js';

/**
 * One row per URL option. The parser asks each row in turn whether it claims a token; the builder asks each
 * row, in table order, for its canonical token. Adding an option means adding a row, nothing else.
 */
export interface OpDef {
  /** Canonical name, as documented in docs/url-api.md. */
  name: string;
  aliases?: readonly string[];
  /** The spec fields this option sets; a second token setting one of them is a conflict (400). */
  fields: readonly (keyof TransformSpec)[];
  /**
   * The spec fields for a token this option owns, undefined for a token that is not this option's.
   * Throws BadRequest for a token that is this option's but malformed.
   */
  parse(token: string, limits: ParseLimits): Partial<TransformSpec> | undefined;
  /** The canonical token for the spec, or undefined when the spec holds this option's default. */
  build(spec: TransformSpec): string | undefined;
}

const SIZE = /^(\d*)x(\d*)$/;

function dimension(text: string, max: number, axis: string, token: string): number | undefined {
  if (text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max || text.length > 6) {
    throw new BadRequest(expected(`a ${axis} between 1 and ${max}`, `size "${token}"`, text));
  }
  return n;
}

export const sizeOp: OpDef = {
  name: 'size',
  fields: ['width', 'height'],
  parse(token, limits) {
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

/** `original`: no transform options at all (re-encoded, metadata stripped). The builder's spelling of an empty spec. */
export const originalOp: OpDef = {
  name: 'original',
  fields: [],
  parse: (token) => (token === 'original' ? {} : undefined),
  build: () => undefined,
};

/** Table order is canonical order. */
export const OPS: readonly OpDef[] = [sizeOp, originalOp];
