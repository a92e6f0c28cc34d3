/**
 * Typed errors carrying their HTTP status and two messages: `message`, public (short, stable, safe to show: no
 * paths, no library text, client input quoted), and `detail` plus the `cause` chain, internal (logged only).
 * Anything thrown that is not a ResizerError is a bug and becomes a 500 with a generic message.
 */
export class ResizerError extends Error {
  /** Internal detail for the log (a library's own message, a hint for the operator). */
  readonly detail?: string;

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.detail = options?.detail;
  }
}

export interface ErrorOptions {
  cause?: unknown;
  detail?: string;
}

/** The internal story of an error, for the log: every message, detail and cause down the chain. */
export function internalMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; depth++) {
    if (e instanceof Error) {
      const code = (e as NodeJS.ErrnoException).code;
      parts.push(`${e.name}${code ? ` ${code}` : ''}: ${e.message}${e instanceof ResizerError && e.detail ? ` (${e.detail})` : ''}`);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(' <- ');
}

/** Client input inside a public message: quoted, escaped, and cut short. */
export function quote(input: unknown): string {
  const text = typeof input === 'string' ? input : String(input);
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(cut).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export class BadRequest extends ResizerError {
  constructor(message: string, options?: ErrorOptions) { super(400, message, {}, options); }
}
/** Not signed, badly signed or expired, or not an allowed preset or size (src/url/gate.ts). */
export class Forbidden extends ResizerError {
  constructor(message: string) { super(403, message); }
}
export class NotFound extends ResizerError {
  constructor(message = 'Not found') { super(404, message); }
}
export class MethodNotAllowed extends ResizerError {
  constructor(allow: string) { super(405, 'Method not allowed', { Allow: allow }); }
}
export class PayloadTooLarge extends ResizerError {
  constructor(message: string) { super(413, message); }
}
export class UnsupportedMediaType extends ResizerError {
  constructor(message: string, options?: ErrorOptions) { super(415, message, {}, options); }
}
export class Unprocessable extends ResizerError {
  constructor(message: string, options?: ErrorOptions) { super(422, message, {}, options); }
}
/** A server fault (a storage permission or I/O error): the cause is logged, the client gets no detail. */
export class InternalError extends ResizerError {
  constructor(message: string, options?: ErrorOptions) { super(500, message, {}, options); }
}
/** The client went away before its response: nothing is sent (nginx's 499 in logs). */
export class ClientGone extends ResizerError {
  constructor() { super(499, 'Client closed the request'); }
}
export class BadGateway extends ResizerError {
  constructor(message: string, options?: ErrorOptions) { super(502, message, {}, options); }
}
export class ServiceUnavailable extends ResizerError {
  constructor(message: string, retryAfterSeconds = 1, options?: ErrorOptions) {
    super(503, message, { 'Retry-After': String(retryAfterSeconds) }, options);
  }
}
export class GatewayTimeout extends ResizerError {
  constructor(message: string, options?: ErrorOptions) { super(504, message, {}, options); }
}
/** A transform (not a store) ran out of time: a property of the image, not of the load, so 422 like main's libvips timeouts. */
export class TransformTimeout extends Unprocessable {}

/** sharp's phrasing, so every validation message reads the same way. */
export function expected(what: string, forWhat: string, received: unknown): string {
  return `Expected ${what} for ${forWhat} but received ${typeof received === 'string' ? quote(received) : String(received)}`;
}

export interface ErrorBody {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The one place an error becomes a response. */
export function errorToResponse(err: unknown): ErrorBody {
  const known = err instanceof ResizerError;
  const status = known ? err.status : 500;
  const message = known ? err.message : 'Internal server error';
  return {
    status,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...(known ? err.headers : {}),
    },
    body: `${status} ${message}\n`,
  };
}
