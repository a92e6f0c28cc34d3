/**
 * Typed errors carrying their HTTP status and a public message.
 * Anything thrown that is not a ResizerError is a bug and becomes a 500 with a generic message.
 */
export class ResizerError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequest extends ResizerError {
  constructor(message: string, options?: { cause?: unknown }) { super(400, message, {}, options); }
}
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
  constructor(message: string, options?: { cause?: unknown }) { super(415, message, {}, options); }
}
export class Unprocessable extends ResizerError {
  constructor(message: string, options?: { cause?: unknown }) { super(422, message, {}, options); }
}
/** A server fault (a storage permission or I/O error): the cause is logged, the client gets no detail. */
export class InternalError extends ResizerError {
  constructor(message: string, options?: { cause?: unknown }) { super(500, message, {}, options); }
}
/** The client went away before its response: nothing is sent (nginx's 499 in logs). */
export class ClientGone extends ResizerError {
  constructor() { super(499, 'Client closed the request'); }
}
export class BadGateway extends ResizerError {
  constructor(message: string, options?: { cause?: unknown }) { super(502, message, {}, options); }
}
export class ServiceUnavailable extends ResizerError {
  constructor(message: string, retryAfterSeconds = 1, options?: { cause?: unknown }) {
    super(503, message, { 'Retry-After': String(retryAfterSeconds) }, options);
  }
}
export class GatewayTimeout extends ResizerError {
  constructor(message: string, options?: { cause?: unknown }) { super(504, message, {}, options); }
}
/** A transform (not a store) ran out of time: a property of the image, not of the load, so 422 like main's libvips timeouts. */
export class TransformTimeout extends Unprocessable {}

/** sharp's phrasing, so every validation message reads the same way. */
export function expected(what: string, forWhat: string, received: unknown): string {
  const shown = typeof received === 'string' ? JSON.stringify(received) : String(received);
  return `Expected ${what} for ${forWhat} but received ${shown}`;
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
