import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

let src: string;
before(async () => { src = await sourceDir({ 'big.jpg': 'photos/Kleiber_by_Lukas_Baubkus.jpg' }); });
after(async () => { await rm(src, { recursive: true, force: true }); });

describe('single-flight', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer({ source: src }); });
  after(async () => { await srv.close(); });

  it('20 concurrent identical misses do the transform once', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${srv.url}/300x200/big.jpg`)));
    const bodies = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())));
    assert.ok(responses.every((r) => r.status === 200));
    assert.equal(srv.app.stats.transforms, 1);
    assert.ok(bodies.every((b) => b.equals(bodies[0]!)));
    assert.equal(new Set(responses.map((r) => r.headers.get('etag'))).size, 1);
  });
});

describe('admission control', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer({ source: src, cache: 'none', memoryCacheMb: 0, concurrency: 1, queueSize: 1 }); });
  after(async () => { await srv.close(); });

  it('--queue-size still caps the waiters: overflow gets 503 with Retry-After, the rest are served', async () => {
    const sizes = [101, 102, 103, 104, 105, 106, 107, 108];
    const responses = await Promise.all(sizes.map((w) => fetch(`${srv.url}/${w}x/big.jpg`)));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    const refused = responses.filter((r) => r.status === 503);
    // One waiter at most (reading its source counts as waiting): the others arrive while it waits.
    assert.ok(refused.length >= 4, `statuses: ${statuses}`);
    assert.ok(statuses.filter((s) => s === 200).length >= 1, `statuses: ${statuses}`);
    assert.ok(statuses.every((s) => s === 200 || s === 503), `statuses: ${statuses}`);
    for (const r of refused) assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
  });

  it('holds a refusal briefly, so clients retrying in a loop cannot starve the transforms', async () => {
    // One transform runs and one waits (the queue's one place), so the next request is the one refused.
    const slow = fetch(`${srv.url}/111x/big.jpg`);
    while (srv.app.admission.active < 1) await new Promise((r) => setTimeout(r, 1));
    const queued = fetch(`${srv.url}/112x/big.jpg`);
    while (srv.app.admission.waiting < 1) await new Promise((r) => setTimeout(r, 1));
    const started = performance.now();
    const refused = await fetch(`${srv.url}/113x/big.jpg`);
    const took = performance.now() - started;
    await refused.arrayBuffer();
    await Promise.all([slow, queued].map(async (p) => (await p).arrayBuffer()));
    assert.equal(refused.status, 503);
    assert.ok(took >= 20 && took < 1000, `refused in ${took.toFixed(0)} ms`);
  });

  it('is free again once the burst has passed', async () => {
    const res = await fetch(`${srv.url}/99x/big.jpg`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });
});
