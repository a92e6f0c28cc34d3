import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import ipaddr from 'ipaddr.js';
import { contentEtag } from './content-hash.js';
import { BadGateway, GatewayTimeout, NotFound, PayloadTooLarge, ResizerError, ServiceUnavailable } from '../errors/index.js';
import { validateKey } from '../keys/index.js';
import { encodeKey } from '../url/path.js';
import { guardedLookup, refusedFor, type Resolver } from './address-policy.js';
import type { SourceInfo, SourceObject, SourceReadOptions, SourceStore } from './types.js';

export interface HttpSourceOptions {
  /** Hosts a request or a redirect may go to; the base URL's host is always one. */
  allowedHosts?: readonly string[];
  /** Let the base URL's own host resolve to loopback (a local origin in tests or development). Never other hosts. */
  allowLoopback?: boolean;
  /** Deadline of one read, redirects and body included (504 past it). */
  timeoutMs?: number;
  /** Most redirects followed per read (502 past it). */
  maxRedirects?: number;
  /** Name resolution, dns.lookup by default; every address it returns is checked before connecting. */
  resolve?: Resolver;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** The public words for every SSRF refusal; which host or address, and why, go to the log (detail). */
const REFUSED = 'Source location refused';
/** head() of an origin that sends neither ETag nor Last-Modified reads the bytes to hash them, up to this. */
const HEAD_FALLBACK_MAX_BYTES = 256 * 1024 * 1024;

interface Fetched {
  status: number;
  headers: IncomingMessage['headers'];
  body?: Buffer;
}

/**
 * Sources read over HTTP(S) from an origin (`--source https://origin.example/images`): key `a/b.jpg` is
 * `GET https://origin.example/images/a/b.jpg`. SSRF-safe: only allowed hosts, on every redirect too (bounded),
 * and the address of every connection is checked (src/storage/address-policy.ts), so a name that resolves to
 * 10.0.0.5, 127.0.0.1 or 169.254.169.254 is refused however it was reached. Bytes and time are bounded while
 * the body streams. ETag and Last-Modified are kept for revalidation (the origin's own, else made from them).
 */
export class HttpSourceStore implements SourceStore {
  readonly description: string;
  private readonly base: URL;
  private readonly hosts: Set<string>;
  private readonly timeoutMs: number;
  private readonly maxRedirects: number;
  private readonly agents: { http: HttpAgent; https: HttpsAgent; loopbackHttp: HttpAgent; loopbackHttps: HttpsAgent };

  constructor(base: string, private readonly opts: HttpSourceOptions = {}) {
    this.base = new URL(base.replace(/\/+$/, ''));
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error(`Expected an http(s) URL for source but received ${JSON.stringify(base)}`);
    this.description = this.base.href;
    this.hosts = new Set([this.base.hostname, ...(opts.allowedHosts ?? [])].map((h) => h.toLowerCase()));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const strict = guardedLookup(false, opts.resolve);
    const local = guardedLookup(opts.allowLoopback === true, opts.resolve);
    // One agent pair per policy: a kept-alive socket was checked when it connected, under the policy of its host.
    this.agents = {
      http: new HttpAgent({ keepAlive: true, lookup: strict }),
      https: new HttpsAgent({ keepAlive: true, lookup: strict }),
      loopbackHttp: new HttpAgent({ keepAlive: true, lookup: local }),
      loopbackHttps: new HttpsAgent({ keepAlive: true, lookup: local }),
    };
  }

  async get(key: string, options: SourceReadOptions): Promise<SourceObject> {
    const res = await this.fetch('GET', key, {}, options);
    return this.object(res);
  }

  async head(key: string): Promise<SourceInfo | null> {
    try {
      const res = await this.fetch('HEAD', key, {}, { maxBytes: 0 });
      const info = this.info(res, undefined);
      // No version from the origin but the bytes: read them, so head and get agree.
      if (info) return info;
      const got = await this.fetch('GET', key, {}, { maxBytes: HEAD_FALLBACK_MAX_BYTES });
      return this.info(got, got.body ?? Buffer.alloc(0)) ?? null;
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw err;
    }
  }

  close(): void {
    for (const agent of Object.values(this.agents)) agent.destroy();
  }

  private object(res: Fetched): SourceObject {
    const body = res.body ?? Buffer.alloc(0);
    const info = this.info(res, body);
    if (!info) throw new BadGateway('Source origin failed', { detail: 'origin answered without ETag, Last-Modified or body' });
    return { ...info, body };
  }

  /** Version info from the headers; undefined when they carry none and there is no body to hash. */
  private info(res: Fetched, body: Buffer | undefined): SourceInfo | undefined {
    const size = body?.length ?? Number(res.headers['content-length'] ?? Number.NaN);
    const lastModifiedText = res.headers['last-modified'];
    const lastModified = lastModifiedText && !Number.isNaN(Date.parse(lastModifiedText)) ? new Date(lastModifiedText) : undefined;
    let etag = strongTag(res.headers.etag);
    if (!etag && lastModified && Number.isFinite(size)) etag = `"lm-${lastModified.getTime().toString(16)}-${size.toString(16)}"`;
    if (!etag && body) etag = contentEtag(body);
    if (!etag || !Number.isFinite(size)) return undefined;
    const contentType = res.headers['content-type'];
    return { size, etag, lastModified: lastModified ?? new Date(0), ...(contentType ? { contentType } : {}) };
  }

  private async fetch(method: 'GET' | 'HEAD', key: string, headers: Record<string, string>, options: SourceReadOptions): Promise<Fetched> {
    let url = new URL(`${this.base.href}/${encodeKey(validateKey(key))}`);
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    for (let hop = 0; ; hop++) {
      this.checkTarget(url);
      const res = await this.once(method, url, headers, options.maxBytes, signal, deadline);
      if (!REDIRECTS.has(res.status)) return this.checkStatus(res, key);
      const location = res.headers.location;
      if (!location) throw new BadGateway('Source origin failed', { detail: `origin answered ${res.status} without a Location` });
      if (hop >= this.maxRedirects) throw new BadGateway('Source origin failed', { detail: `origin redirected more than ${this.maxRedirects} times` });
      url = new URL(location, url);
    }
  }

  /** Scheme and host rules; an IP literal is checked here, since no lookup runs for it. */
  private checkTarget(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadGateway(REFUSED, { detail: `refusing a redirect to a ${url.protocol} URL` });
    const host = url.hostname.toLowerCase();
    if (!this.hosts.has(host)) throw new BadGateway(REFUSED, { detail: `refusing to read from host ${JSON.stringify(host)}: not an allowed source host` });
    const literal = host.replace(/^\[|\]$/g, '');
    if (ipaddr.isValid(literal)) {
      const why = refusedFor(literal, this.opts.allowLoopback === true && host === this.base.hostname.toLowerCase());
      if (why) throw new BadGateway(REFUSED, { detail: `refusing to connect to ${literal}: ${why}` });
    }
  }

  private checkStatus(res: Fetched, key: string): Fetched {
    if (res.status === 200 || res.status === 304) return res;
    if (res.status === 404 || res.status === 410) throw new NotFound(`No such image: ${key}`);
    if (res.status === 429 || res.status === 503) throw new ServiceUnavailable('Source origin busy, try again shortly', 2);
    throw new BadGateway('Source origin failed', { detail: `origin answered ${res.status}` });
  }

  private once(method: string, url: URL, headers: Record<string, string>, maxBytes: number, signal: AbortSignal, deadline: AbortSignal): Promise<Fetched> {
    const loopbackOk = this.opts.allowLoopback === true && url.hostname.toLowerCase() === this.base.hostname.toLowerCase();
    const https = url.protocol === 'https:';
    const agent = https ? (loopbackOk ? this.agents.loopbackHttps : this.agents.https) : (loopbackOk ? this.agents.loopbackHttp : this.agents.http);
    const send = https ? httpsRequest : httpRequest;
    return new Promise<Fetched>((resolve, reject) => {
      const fail = (err: unknown) => reject(transportError(err, deadline));
      const req = send(url, { method, headers: { 'user-agent': 'resizer', ...headers }, agent, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (method === 'HEAD' || status !== 200) {
          res.resume();
          res.on('end', () => resolve({ status, headers: res.headers }));
          res.on('error', fail);
          return;
        }
        const declared = Number(res.headers['content-length'] ?? Number.NaN);
        // Rejected before the destroy: destroying emits 'aborted' at once, which would report a transport error.
        if (declared > maxBytes) {
          reject(new PayloadTooLarge(`Source is ${declared} bytes, over the limit of ${maxBytes}`));
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (c: Buffer) => {
          received += c.length;
          if (received > maxBytes) {
            reject(new PayloadTooLarge(`Source is over the limit of ${maxBytes} bytes`));
            res.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (Number.isFinite(declared) && received !== declared) return reject(new BadGateway('Source origin failed', { detail: 'origin body ended early' }));
          resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('aborted')));
      });
      req.on('error', fail);
      req.end();
    });
  }
}

/** W/"x" → "x": a weak tag still names a version; unquoted tags get their quotes. */
function strongTag(tag: string | undefined): string | undefined {
  if (!tag) return undefined;
  const bare = tag.replace(/^W\//, '');
  return bare.startsWith('"') ? bare : `"${bare}"`;
}

function transportError(err: unknown, deadline: AbortSignal): ResizerError {
  if (err instanceof ResizerError) return err;
  if (deadline.aborted) return new GatewayTimeout('Source origin too slow', { cause: err });
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_ADDRESS_REFUSED') return new BadGateway(REFUSED, { detail: (err as Error).message, cause: err });
  return new BadGateway('Source origin unreachable', { detail: code, cause: err });
}
