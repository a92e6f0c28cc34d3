import { BadRequest, expected } from '../errors/index.js';
import { normalise } from '../ops/normalise.js';
import type { CanonicalSpec, ParseLimits, TransformSpec } from '../ops/spec.js';
import { OPS, type OpDef } from '../ops/table.js';

/**
 * The transform segment grammar: comma-separated tokens in any order, each claimed by exactly one row of the
 * ops table. Parser and canonical builder live side by side so they cannot drift apart:
 * build(parse(s)) is the one spelling every equivalent s shares, and the derivative key uses it.
 */
export const SEPARATOR = ',';
const MAX_SEGMENT = 512;

export function parseSegment(segment: string, limits: ParseLimits): CanonicalSpec {
  if (segment === '') throw new BadRequest('Missing options segment, expected /{options}/{image}');
  if (segment.length > MAX_SEGMENT) throw new BadRequest(`Options segment longer than ${MAX_SEGMENT} characters`);
  const spec: TransformSpec = {};
  const owner = new Map<keyof TransformSpec, string>();
  for (const token of segment.split(SEPARATOR)) {
    if (token === '') throw new BadRequest(`Empty option in "${segment}"`);
    const claimed = claim(token, limits);
    if (!claimed) throw new BadRequest(expected(KNOWN, 'option', token));
    for (const [field, value] of Object.entries(claimed.fields) as [keyof TransformSpec, unknown][]) {
      const previous = owner.get(field);
      if (previous !== undefined) {
        throw new BadRequest(`Options "${previous}" and "${token}" conflict (both set ${claimed.op.name})`);
      }
      owner.set(field, token);
      if (value !== undefined) (spec as Record<string, unknown>)[field] = value;
    }
  }
  return normalise(spec);
}

const KNOWN = 'a size (300x200, 300x, x200) or an option such as cover, north, webp, q80, dpr2, blur5 (see docs/url-api.md)';

function claim(token: string, limits: ParseLimits): { op: OpDef; fields: Partial<TransformSpec> } | undefined {
  for (const op of OPS) {
    const fields = op.parse(token, limits);
    if (fields) return { op, fields };
  }
  return undefined;
}

export function buildSegment(spec: CanonicalSpec): string {
  const tokens = OPS.map((op) => op.build(spec)).filter((t): t is string => t !== undefined);
  // A spec of all defaults still needs a non-empty segment to form a key.
  return tokens.length ? tokens.join(SEPARATOR) : 'original';
}
