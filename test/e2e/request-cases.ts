// One table of request cases, run through every transport: handle() directly, the Node HTTP adapter, and the
// Lambda adapter. A case states what any transport must answer; the transports only translate.
import assert from 'node:assert/strict';
import sharp from 'sharp';

export interface Answer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RequestCase {
  name: string;
  method?: string;
  /** Raw path, percent-encoded as a client sends it. */
  path: string;
  headers?: Record<string, string>;
  status: number;
  /** Headers that must be present with these values (lower-case names). */
  expectHeaders?: Record<string, string | RegExp>;
  /** Further checks on the answer. */
  check?: (a: Answer) => void | Promise<void>;
}

async function imageOf(a: Answer, width: number, format: string): Promise<void> {
  const meta = await sharp(a.body).metadata();
  assert.equal(meta.width, width);
  assert.equal(meta.format, format);
}

export const REQUEST_CASES: RequestCase[] = [
  { name: 'a resize', path: '/60x/png/rgba.png', status: 200, expectHeaders: { 'content-type': 'image/png', etag: /^".+"$/, 'x-content-type-options': 'nosniff' }, check: (a) => imageOf(a, 60, 'png') },
  { name: 'the same again is a hit', path: '/60x/png/rgba.png', status: 200, expectHeaders: { 'x-cache': 'HIT' } },
  { name: 'HEAD has the headers and no body', method: 'HEAD', path: '/60x/png/rgba.png', status: 200, expectHeaders: { 'content-type': 'image/png' }, check: (a) => assert.equal(a.body.length, 0) },
  { name: 'a matching If-None-Match is 304', path: '/60x/png/rgba.png', headers: { 'if-none-match': '*' }, status: 304, check: (a) => assert.equal(a.body.length, 0) },
  { name: 'auto picks AVIF from Accept', path: '/40x,auto/png/rgba.png', headers: { accept: 'image/avif,image/webp,*/*' }, status: 200, expectHeaders: { 'content-type': 'image/avif', vary: 'Accept' } },
  { name: 'auto falls back to the source format', path: '/40x,auto/png/rgba.png', headers: { accept: '*/*' }, status: 200, expectHeaders: { 'content-type': 'image/png', vary: 'Accept' } },
  { name: 'a key with a space and unicode', path: '/30x/odd/%C3%A9t%C3%A9%20photo.png', status: 200, check: (a) => imageOf(a, 30, 'png') },
  { name: 'an unknown option', path: '/60x,bogus/png/rgba.png', status: 400, expectHeaders: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } },
  { name: 'traversal', path: '/60x/%2e%2e/secret.png', status: 400 },
  { name: 'a missing source', path: '/60x/no/such.png', status: 404 },
  { name: 'a method other than GET and HEAD', method: 'POST', path: '/60x/png/rgba.png', status: 405, expectHeaders: { allow: 'GET, HEAD' } },
  { name: 'not an image', path: '/60x/README.md', status: 415 },
  { name: 'a broken image', path: '/60x/broken/truncated_jpeg.jpg', status: 422 },
  { name: 'the health endpoint', path: '/_/healthz', status: 200 },
  { name: 'an unknown service endpoint', path: '/_/nothing', status: 404 },
];

/** Runs the table through one transport, in order (the hit and 304 cases follow the first miss). */
export async function runCases(send: (c: RequestCase) => Promise<Answer>): Promise<void> {
  for (const c of REQUEST_CASES) {
    const a = await send(c);
    assert.equal(a.status, c.status, `${c.name}: ${a.status} ${a.body.toString('utf8', 0, 200)}`);
    for (const [name, want] of Object.entries(c.expectHeaders ?? {})) {
      const got = a.headers[name];
      if (want instanceof RegExp) assert.match(got ?? '', want, `${c.name}: ${name}`);
      else assert.equal(got, want, `${c.name}: ${name}`);
    }
    await c.check?.(a);
  }
}
