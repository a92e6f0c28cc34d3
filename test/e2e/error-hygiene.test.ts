// Every failure class over real sockets: the response says what went wrong in public words only. No filesystem
// path, no libvips or sharp text, no AWS SDK error name reaches a client; the internal story goes to the log.
// (An unreadable source, a 500, is in test/e2e/statuses.test.ts: permissions need a non-root server process.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startS3World, type S3World } from './s3-world.js';

const LEAKS: Array<[string, RegExp]> = [
  ['a filesystem path', /\/(tmp|work|home|root|usr|var|etc|proc)\/|[A-Z]:\\/],
  ['libvips', /vips/i],
  ['sharp', /sharp/i],
  ['an SDK error name', /InternalError|NoSuchKey|NoSuchBucket|AccessDenied|SlowDown|TimeoutError|RequestTimeout|S3ServiceException|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EACCES|ENOENT|\$metadata/],
  ['a stack trace', /\n\s+at /],
];

interface Case { name: string; status: number; run: () => Promise<Response> }

function checkBody(c: Case, status: number, body: string): void {
  assert.equal(status, c.status, `${c.name}: ${body}`);
  for (const [what, pattern] of LEAKS) assert.doesNotMatch(body, pattern, `${c.name} shows ${what}: ${body}`);
  assert.ok(body.length < 300, `${c.name}: short message (${body.length} characters)`);
}

describe('error hygiene', () => {
  let srv: TestServer;
  let tiny: TestServer;
  let budget: TestServer;
  let w: S3World;
  let s3: TestServer;
  before(async () => {
    srv = await startTestServer({ transformTimeoutSeconds: 1 });
    tiny = await startTestServer({ maxSourceBytes: 1000 });
    budget = await startTestServer({ memoryBudgetMb: 5 });
    w = await startS3World({ timeoutMs: 700, maxAttempts: 1 });
    await w.upload('a.png', 'png/rgba.png');
    s3 = await startTestServer({}, { sources: w.sources, derivatives: w.derivatives });
  });
  after(async () => {
    await Promise.all([srv.close(), tiny.close(), budget.close(), s3.close()]);
    await w.close();
  });

  const get = (server: () => TestServer, path: string) => () => fetch(server().url + path);
  const faulted = (inject: () => void, path: string) => async () => {
    inject();
    try {
      return await fetch(s3.url + path);
    } finally {
      w.proxy.heal();
    }
  };
  const cases: Case[] = [
    { name: 'unknown option', status: 400, run: get(() => srv, '/300x,<script>alert(1)<%2Fscript>/png/rgba.png') },
    { name: 'malformed size', status: 400, run: get(() => srv, '/0x300/png/rgba.png') },
    { name: 'traversal', status: 400, run: get(() => srv, '/300x/%2e%2e/%2e%2e/etc/passwd') },
    { name: 'encoded slash', status: 400, run: get(() => srv, '/300x/..%2f..%2fetc%2fpasswd') },
    { name: 'missing source', status: 404, run: get(() => srv, '/300x/no/such/image.png') },
    { name: 'missing endpoint', status: 404, run: get(() => srv, '/_/nothing-here') },
    { name: 'method', status: 405, run: () => fetch(`${srv.url}/300x/png/rgba.png`, { method: 'DELETE' }) },
    { name: 'source too large', status: 413, run: get(() => tiny, '/100x/photos/issue70.jpg') },
    { name: 'not an image', status: 415, run: get(() => srv, '/100x/README.md') },
    { name: 'truncated JPEG (libvips says "VipsJpeg: premature end")', status: 422, run: get(() => srv, '/100x/broken/truncated_jpeg.jpg') },
    { name: 'truncated PNG (libvips says "vipspng: libpng read error")', status: 422, run: get(() => srv, '/100x/broken/truncated_image.png') },
    { name: 'corrupt data stream', status: 422, run: get(() => srv, '/100x/broken/broken_data_stream.png') },
    { name: 'decompression bomb', status: 422, run: get(() => srv, '/100x/bombs/bug793470-crasher.png') },
    { name: 'past the transform timeout', status: 422, run: get(() => srv, '/2268x,png/svg/515-pattern-billion-laughs.svg') },
    { name: 'over the memory budget', status: 422, run: get(() => budget, '/300x/photos/seeding_by_Clements_Engelhardt.jpg') },
    { name: 'S3 answering 500', status: 502, run: faulted(() => w.proxy.inject({ kind: 'status', status: 500 }), '/51x/a.png') },
    { name: 'S3 throttling', status: 503, run: faulted(() => w.proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }), '/52x/a.png') },
    { name: 'S3 too slow', status: 504, run: faulted(() => w.proxy.inject({ kind: 'delay', ms: 5000 }), '/53x/a.png') },
    { name: 'S3 source cut halfway', status: 502, run: faulted(() => w.proxy.inject({ kind: 'truncate' }, (r) => r.method === 'GET' && r.url.includes('a.png')), '/54x/a.png') },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} with a public message only`, async () => {
      const res = await c.run();
      checkBody(c, res.status, await res.text());
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    });
  }
});
