/**
 * What to answer a request the HTTP parser refused before the app saw it. Node's default handler picks these
 * statuses too, but any 'clientError' listener replaces it; this keeps the distinctions a client can act on.
 */
export function clientErrorResponse(code: string | undefined): string {
  const status = CLIENT_ERROR_STATUS.get(code ?? '') ?? '400 Bad Request';
  return `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

const CLIENT_ERROR_STATUS = new Map<string, string>([
  // Headers over --max-http-header-size (16 KiB by default).
  ['HPE_HEADER_OVERFLOW', '431 Request Header Fields Too Large'],
  // headersTimeout / requestTimeout passed: a slowloris client sending its headers a byte at a time.
  ['ERR_HTTP_REQUEST_TIMEOUT', '408 Request Timeout'],
  ['HPE_CHUNK_EXTENSIONS_OVERFLOW', '413 Payload Too Large'],
]);

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * RFC 9112 §3.2.2: a server must accept a request target in absolute form (`GET http://host/path HTTP/1.1`,
 * what proxies send) and use its path; the host part is not used to choose anything here.
 */
export function originForm(target: string): string {
  if (!ABSOLUTE_FORM.test(target)) return target;
  // Cut by hand rather than through URL(): URL would normalise `..` and percent-encoding that splitPath must see as sent.
  const afterScheme = target.indexOf('//') + 2;
  const slash = target.indexOf('/', afterScheme);
  const query = target.indexOf('?', afterScheme);
  if (slash < 0 || (query >= 0 && query < slash)) return query >= 0 ? `/${target.slice(query)}` : '/';
  return target.slice(slash);
}
