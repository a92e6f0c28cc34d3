import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { Logger } from '../../src/app.js';
import { S3DerivativeStore, S3SourceStore } from '../../src/storage/s3.js';
import { createS3Client } from '../../src/storage/s3-client.js';
import { S3_CREDENTIALS, S3_REGION, TEST_S3_SETTINGS } from '../helpers/s3-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { storedKeyOf } from './s3-keys.js';
import { CACHE_BUCKET, SOURCE_BUCKET, startS3World, type S3World } from './s3-world.js';

const TIMEOUT_MS = 700;
const ATTEMPTS = 3;

/** Keeps what the app logs, to check that failures are reported. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg?: string }> } {
  const lines: Array<{ level: string; msg?: string }> = [];
  const at = (level: string) => (_obj: object, msg?: string) => { lines.push({ level, msg }); };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

let w: S3World;
let srv: TestServer;
const logger = recordingLogger();

before(async () => {
  w = await startS3World({ timeoutMs: TIMEOUT_MS, maxAttempts: ATTEMPTS });
  for (const k of ['a.png', 'b.png', 'c.png', 'd.png', 'e.png', 'f.png']) await w.upload(k, 'png/rgba.png');
  srv = await startTestServer({}, { sources: w.sources, derivatives: w.derivatives, logger });
});
after(async () => { await srv.close(); await w.close(); });
afterEach(() => { w.proxy.heal(); });

async function timed(url: string, init?: RequestInit): Promise<{ res: Response; body: Buffer; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, init);
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, ms: performance.now() - started };
}

describe('S3 faults', () => {
  it('S3 answering 500: bounded retries, the cache read logged as a miss, then 502 from the source with a clear message', async () => {
    w.proxy.inject({ kind: 'status', status: 500 });
    const before = w.proxy.seen.length;
    const logged = logger.lines.filter((l) => l.msg === 'derivative read failed; treated as a miss').length;
    const { res, body, ms } = await timed(`${srv.url}/50x/a.png`);
    assert.equal(res.status, 502);
    // Public words for the client; the SDK's error name only in the log.
    assert.equal(body.toString(), '502 S3 error while reading a source\n');
    assert.equal(logger.lines.filter((l) => l.msg === 'derivative read failed; treated as a miss').length, logged + 1);
    assert.equal(w.proxy.seen.length - before, 2 * ATTEMPTS, 'one request per attempt, no more: the cache, then the source');
    assert.ok(ms < 2 * TIMEOUT_MS + 500, `took ${ms} ms`);
  });

  it('S3 throttling (503 SlowDown): 503 with Retry-After', async () => {
    // The SDK backs off longer after throttling, past this short deadline: one attempt shows the mapping itself.
    const settings = { ...w.settings, maxAttempts: 1 };
    const client = w.s3.client(settings, { via: w.proxy.endpoint });
    const once = await startTestServer({}, {
      sources: new S3SourceStore(client, `s3://${SOURCE_BUCKET}`, settings),
      derivatives: new S3DerivativeStore(client, `s3://${CACHE_BUCKET}`, settings),
    });
    try {
      w.proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' });
      const { res, body } = await timed(`${once.url}/50x/a.png`);
      assert.equal(res.status, 503);
      assert.match(body.toString(), /S3 is throttling/);
      assert.ok(res.headers.get('retry-after'));
    } finally {
      await once.close();
      client.destroy();
    }
  });

  it('S3 too slow: 504 within the configured timeout, while everything else is still served', async () => {
    const warm = await fetch(`${srv.url}/60x/b.png`);
    assert.equal(warm.status, 200);
    w.proxy.inject({ kind: 'delay', ms: 10_000 });
    const slow = timed(`${srv.url}/60x/c.png`);
    // Meanwhile: the hot set and the service endpoints answer at once.
    const hit = await timed(`${srv.url}/60x/b.png`);
    assert.equal(hit.res.status, 200);
    assert.equal(hit.res.headers.get('x-cache'), 'HIT');
    assert.ok(hit.ms < 500, `hit took ${hit.ms} ms`);
    assert.equal((await fetch(`${srv.url}/_/healthz`)).status, 200);
    const { res, body, ms } = await slow;
    assert.equal(res.status, 504);
    assert.match(body.toString(), new RegExp(`S3 did not answer within ${TIMEOUT_MS} ms`));
    assert.ok(ms >= TIMEOUT_MS - 50 && ms < TIMEOUT_MS + 1000, `took ${ms} ms`);
  });

  it('S3 unreachable: 503 at once', async () => {
    const port = await closedPort();
    const client = createS3Client({ ...TEST_S3_SETTINGS, timeoutMs: TIMEOUT_MS }, { endpoint: `http://127.0.0.1:${port}`, region: S3_REGION, credentials: S3_CREDENTIALS });
    const settings = { ...TEST_S3_SETTINGS, timeoutMs: TIMEOUT_MS };
    const down = await startTestServer({}, {
      sources: new S3SourceStore(client, `s3://${SOURCE_BUCKET}`, settings),
      derivatives: new S3DerivativeStore(client, `s3://${CACHE_BUCKET}`, settings),
    });
    try {
      const { res, body, ms } = await timed(`${down.url}/50x/a.png`);
      assert.equal(res.status, 503);
      assert.match(body.toString(), /S3 unreachable/);
      assert.ok(res.headers.get('retry-after'));
      assert.ok(ms < TIMEOUT_MS + 500, `took ${ms} ms`);
    } finally {
      await down.close();
      client.destroy();
    }
  });

  it('a failed derivative write still returns the image, is logged, and stores nothing', async () => {
    w.proxy.inject({ kind: 'status', status: 500 }, (r) => r.method === 'PUT');
    const errorsBefore = logger.lines.filter((l) => l.msg === 'derivative write failed').length;
    const { res, body } = await timed(`${srv.url}/70x/d.png`);
    assert.equal(res.status, 200);
    assert.equal((await sharp(body).metadata()).width, 70);
    assert.equal(logger.lines.filter((l) => l.msg === 'derivative write failed').length, errorsBefore + 1);
    assert.equal(await w.stored(storedKeyOf('70x', 'd.png')), null);
  });

  it('a source transfer cut halfway is a 502, and nothing is stored', async () => {
    w.proxy.inject({ kind: 'truncate' }, (r) => r.method === 'GET' && r.url.startsWith(`/${SOURCE_BUCKET}/`));
    const { res, body } = await timed(`${srv.url}/40x/e.png`);
    assert.equal(res.status, 502);
    assert.match(body.toString(), /S3/);
    assert.equal(await w.stored(storedKeyOf('40x', 'e.png')), null);
    w.proxy.heal();
    assert.equal((await fetch(`${srv.url}/40x/e.png`)).status, 200);
  });

  it('a derivative transfer cut halfway is never served: it counts as a miss and the image is made again', async () => {
    assert.equal((await fetch(`${srv.url}/30x/f.png`)).status, 200);
    const cold = await startTestServer({ memoryCacheMb: 0 }, { sources: w.sources, derivatives: w.derivatives });
    try {
      w.proxy.inject({ kind: 'truncate' }, (r) => r.method === 'GET' && r.url.startsWith(`/${CACHE_BUCKET}/`));
      const { res, body } = await timed(`${cold.url}/30x/f.png`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache'), 'MISS');
      assert.equal((await sharp(body).metadata()).width, 30);
      assert.equal(cold.app.stats.transforms, 1);
    } finally {
      await cold.close();
    }
  });

  it('redirect delivery falls back to streaming when the derivative could not be stored', async () => {
    const redirecting = await startTestServer(
      { delivery: 'redirect', publicBase: `${w.s3.endpoint}/${CACHE_BUCKET}` },
      { sources: w.sources, derivatives: w.derivatives },
    );
    try {
      w.proxy.inject({ kind: 'status', status: 500 }, (r) => r.method === 'PUT');
      const failed = await timed(`${redirecting.url}/20x/a.png`, { redirect: 'manual' });
      assert.equal(failed.res.status, 200);
      assert.equal((await sharp(failed.body).metadata()).width, 20);
      w.proxy.heal();
      // Not remembered as stored: the next request makes it again, stores it and redirects.
      const next = await fetch(`${redirecting.url}/20x/a.png`, { redirect: 'manual' });
      assert.equal(next.status, 302);
      assert.ok(await w.stored(storedKeyOf('20x', 'a.png')));
    } finally {
      await redirecting.close();
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
