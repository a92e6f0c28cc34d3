import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { READINESS_CACHE_MS } from '../../src/observe/readiness.js';
import { startS3World, type S3World } from '../e2e/s3-world.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

async function status(url: string): Promise<[number, string]> {
  const res = await fetch(url);
  return [res.status, await res.text()];
}

describe('/_/healthz and /_/readyz', () => {
  let w: S3World;
  let srv: TestServer;
  before(async () => {
    // A generous deadline: a busy machine must not turn the first (cold) check into "unreachable".
    w = await startS3World({ timeoutMs: 3000, maxAttempts: 1 });
    srv = await startTestServer({}, { sources: w.sources, derivatives: w.derivatives });
  });
  after(async () => { await srv.close(); await w.close(); });

  it('a local folder: ready', async () => {
    const local = await startTestServer();
    try {
      assert.deepEqual(await status(`${local.url}/_/readyz`), [200, 'ready\n']);
      assert.deepEqual(await status(`${local.url}/_/healthz`), [200, 'ok\n']);
    } finally {
      await local.close();
    }
  });

  it('S3 down: 503 naming the store, healthz still 200; checks shared and cached; back to 200 once S3 answers', async () => {
    assert.deepEqual(await status(`${srv.url}/_/readyz`), [200, 'ready\n']);
    // Reset at once: an unreachable store fails fast, not at the deadline.
    w.proxy.inject({ kind: 'reset' });
    const seen = w.proxy.seen.length;
    // Within the cache window the last answer stands, and costs the stores nothing.
    assert.equal((await status(`${srv.url}/_/readyz`))[0], 200);
    assert.equal(w.proxy.seen.length, seen);
    await sleep(READINESS_CACHE_MS + 100);
    // Twenty probes at once: one check of each store, not twenty.
    const answers = await Promise.all(Array.from({ length: 20 }, () => status(`${srv.url}/_/readyz`)));
    assert.ok(answers.every(([s]) => s === 503), JSON.stringify(answers[0]));
    assert.match(answers[0]![1], /source store unreachable\nderivative store unreachable/);
    assert.ok(w.proxy.seen.length - seen <= 2, `${w.proxy.seen.length - seen} store requests for 20 probes`);
    assert.deepEqual(await status(`${srv.url}/_/healthz`), [200, 'ok\n']);
    w.proxy.heal();
    await sleep(READINESS_CACHE_MS + 100);
    assert.deepEqual(await status(`${srv.url}/_/readyz`), [200, 'ready\n']);
  });

  it('draining: 503 at once, whatever the stores say', async () => {
    const local = await startTestServer();
    try {
      assert.equal((await status(`${local.url}/_/readyz`))[0], 200);
      local.app.readiness.drain();
      assert.deepEqual(await status(`${local.url}/_/readyz`), [503, 'draining\n']);
    } finally {
      await local.close();
    }
  });
});
