import { BadRequest, expected } from '../errors/index.js';

/**
 * Validator factories (ipx-style): each returns a function that turns the text after an option's prefix
 * into a typed value or throws a 400 naming the option and what it expected.
 */
export type Validator<T> = (text: string, option: string) => T;

const INT = /^\d{1,6}$/;
const DECIMAL = /^\d{1,4}(\.\d{1,4})?$/;

export function intRange(min: number, max: number): Validator<number> {
  return (text, option) => {
    if (!INT.test(text)) throw new BadRequest(expected(`an integer between ${min} and ${max}`, option, text));
    const n = Number(text);
    if (n < min || n > max) throw new BadRequest(expected(`an integer between ${min} and ${max}`, option, text));
    return n;
  };
}

export function decimalRange(min: number, max: number): Validator<number> {
  return (text, option) => {
    if (!DECIMAL.test(text)) throw new BadRequest(expected(`a number between ${min} and ${max}`, option, text));
    const n = Number(text);
    if (n < min || n > max) throw new BadRequest(expected(`a number between ${min} and ${max}`, option, text));
    return n;
  };
}

export function oneOf<T extends string>(values: readonly T[]): Validator<T> {
  return (text, option) => {
    if (!(values as readonly string[]).includes(text)) {
      throw new BadRequest(expected(`one of ${values.join(', ')}`, option, text));
    }
    return text as T;
  };
}

export function hexColour(): Validator<string> {
  return (text, option) => {
    // No alpha digits: the colour flattens transparency away, a translucent one would bring it back.
    if (!/^([0-9a-f]{3}|[0-9a-f]{6})$/i.test(text)) {
      throw new BadRequest(expected('a hex colour RGB or RRGGBB', option, text));
    }
    const t = text.toLowerCase();
    return t.length === 3 ? [...t].map((c) => c + c).join('') : t;
  };
}

/** Formats a number for a canonical token: no trailing zeros, no leading plus. */
export function formatNumber(n: number): string {
  return String(Number(n.toFixed(4)));
}
