// Admission over real sockets with the real server process: a page of cold misses is served whole, memory stays
// inside the budget, a client that leaves frees its place, and refusals say truthfully when to come back.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { peakRssMiB, rssMiB, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

const PHOTOS = ['photos/Kleiber_by_Lukas_Baubkus.jpg', 'photos/issue70.jpg', 'photos/seeding_by_Clements_Engelhardt.jpg'];
const PROGRESSIVE = 'photos/seeding_by_Clements_Engelhardt.jpg';

/** `count` distinct keys over the ≥ 12 MP photos, so every request is a cold miss of a real photo. */
function photoKeys(count: number, photos = PHOTOS): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}.jpg`, photos[i % photos.length]!]));
}

/** Requests each URL once over `connections` parallel clients, as a browser loads a page; statuses and bodies. */
async function fetchAll(urls: string[], connections: number): Promise<Array<{ status: number; body: Buffer }>> {
  const answers: Array<{ status: number; body: Buffer }> = new Array(urls.length);
  let next = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < urls.length) {
      const i = next++;
      const res = await fetch(urls[i]!);
      answers[i] = { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    }
  }));
  return answers;
}

async function load(urls: string[], connections: number): Promise<number[]> {
  return (await fetchAll(urls, connections)).map((a) => a.status);
}

async function warm(srv: ServerProcess): Promise<void> {
  const res = await fetch(`${srv.url}/10x/warm.png`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
}

describe('admission: a whole page, default settings', () => {
  let src: string;
  let srv: ServerProcess;
  before(async () => {
    src = await sourceDir({ ...photoKeys(64), 'warm.png': 'png/rgba.png' });
    srv = await startServerProcess(['--source', src, '--cache', 'none', '--port', '0']);
  });
  after(async () => {
    await srv.stop();
    await rm(src, { recursive: true, force: true });
  });

  it('24 distinct cold thumbnails of 12-20 MP photos at 6 connections: 24 x 200', async () => {
    const urls = Array.from({ length: 24 }, (_, i) => `${srv.url}/300x200,cover/p${i}.jpg`);
    const answers = await fetchAll(urls, 6);
    assert.deepEqual(answers.map((a) => a.status), new Array(24).fill(200));
    for (const a of answers) {
      const meta = await sharp(a.body).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 300, 200]);
    }
  });

  it('64 distinct cold misses at 32 connections: all 200, peak RSS within budget plus baseline', async () => {
    const budget = Number(/"memoryBudgetMb":(\d+)/.exec(srv.log())?.[1]);
    assert.ok(budget > 0, 'the server logs its memory budget');
    const baseline = rssMiB(srv.pid);
    const urls = Array.from({ length: 64 }, (_, i) => `${srv.url}/400x300,cover,webp/p${i}.jpg`);
    const statuses = await load(urls, 32);
    assert.deepEqual(statuses, new Array(64).fill(200));
    const peak = peakRssMiB(srv.pid);
    console.log(`# 64 misses at c=32: peak RSS ${peak.toFixed(0)} MiB, baseline ${baseline.toFixed(0)} MiB, budget ${budget} MiB`);
    assert.ok(peak <= budget + baseline, `peak ${peak} MiB`);
    // The budget here is most of the machine; what really bounds memory is two slots and a few read-ahead sources.
    assert.ok(peak < 400, `peak ${peak.toFixed(0)} MiB`);
  });
});

describe('admission: a memory budget', () => {
  let src: string;
  before(async () => { src = await sourceDir({ ...photoKeys(16, [PROGRESSIVE]), 'warm.png': 'png/rgba.png' }); });
  after(async () => { await rm(src, { recursive: true, force: true }); });

  it('--memory-budget-mb 150: 16 concurrent progressive 16 MP misses stay under 150 MiB plus baseline, all served', async () => {
    // Four slots, so that without the budget four ~50 MiB decodes would run at once (~200 MiB).
    const srv = await startServerProcess(['--source', src, '--cache', 'none', '--port', '0', '--concurrency', '4', '--memory-budget-mb', '150', '--memory-cache-mb', '0']);
    try {
      await warm(srv);
      const baseline = rssMiB(srv.pid);
      const urls = Array.from({ length: 16 }, (_, i) => `${srv.url}/${300 + i}x/p${i}.jpg`);
      const statuses = await load(urls, 16);
      assert.deepEqual(statuses, new Array(16).fill(200));
      const peak = peakRssMiB(srv.pid);
      console.log(`# budget 150 MiB: peak RSS ${peak.toFixed(0)} MiB over a baseline of ${baseline.toFixed(0)} MiB`);
      assert.ok(peak < 150 + baseline, `peak ${peak.toFixed(0)} MiB, baseline ${baseline.toFixed(0)} MiB`);
    } finally {
      await srv.stop();
    }
  });

  it('a transform that alone needs more than the budget is refused with 422 saying why, at once', async () => {
    const srv = await startServerProcess(['--source', src, '--cache', 'none', '--port', '0', '--memory-budget-mb', '20']);
    try {
      const res = await fetch(`${srv.url}/300x/p0.jpg`);
      assert.equal(res.status, 422);
      assert.match(await res.text(), /memory budget of 20 MiB/);
      assert.equal((await fetch(`${srv.url}/10x/warm.png`)).status, 200);
    } finally {
      await srv.stop();
    }
  });
});

describe('admission: clients that leave, and honest refusals', () => {
  let src: string;
  before(async () => { src = await sourceDir(photoKeys(80, ['photos/Kleiber_by_Lukas_Baubkus.jpg'])); });
  after(async () => { await rm(src, { recursive: true, force: true }); });

  it('a queued request whose client disconnects never starts its transform', async () => {
    const srv = await startTestServer({ source: src, cache: 'none', memoryCacheMb: 0, concurrency: 1 });
    try {
      const first = fetch(`${srv.url}/1200x/p0.jpg`);
      while (srv.app.admission.active < 1) await new Promise((r) => setTimeout(r, 2));
      const leaving = new AbortController();
      const second = fetch(`${srv.url}/1200x/p1.jpg`, { signal: leaving.signal }).catch(() => 'aborted');
      while (srv.app.admission.waiting < 1) await new Promise((r) => setTimeout(r, 2));
      leaving.abort();
      assert.equal(await second, 'aborted');
      assert.equal((await first).status, 200);
      while (srv.app.admission.waiting > 0) await new Promise((r) => setTimeout(r, 2));
      assert.equal(srv.app.admission.stats.abandoned, 1);
      assert.equal(srv.app.stats.transforms, 1, 'only the first transform ran');
    } finally {
      await srv.close();
    }
  });

  it('refuses only past the deadline, with a Retry-After within 2x of the time the queue then takes to drain', async () => {
    const deadline = 3000;
    const srv = await startTestServer({ source: src, cache: 'none', memoryCacheMb: 0, concurrency: 1, queueTimeoutMs: deadline });
    try {
      // Teach it the service time first.
      for (let i = 0; i < 3; i++) await (await fetch(`${srv.url}/${400 + i}x/p79.jpg`)).arrayBuffer();
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 79 }, async (_, i) => {
        const res = await fetch(`${srv.url}/300x200,cover/p${i}.jpg`);
        await res.arrayBuffer();
        return { status: res.status, at: performance.now() - started, retryAfter: Number(res.headers.get('retry-after')) };
      }));
      const served = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status === 503);
      assert.equal(served.length + refused.length, results.length, `statuses ${results.map((r) => r.status)}`);
      assert.ok(refused.length > 0, 'the burst is larger than the deadline allows');
      const drained = Math.max(...served.map((r) => r.at));
      console.log(`# served ${served.length}, refused ${refused.length}; drained in ${drained.toFixed(0)} ms; Retry-After ${[...new Set(refused.map((r) => r.retryAfter))]}`);
      // Nobody admitted waited much past the deadline, and nobody was refused while there was room before it.
      assert.ok(drained < deadline + 1500, `queue drained after ${drained.toFixed(0)} ms`);
      assert.ok(drained > deadline * 0.6, `refused although the queue drained in ${drained.toFixed(0)} ms`);
      // A refusal comes at arrival, when the estimated wait is past the deadline, or (if the estimate was too
      // hopeful on a noisy machine) at the deadline itself; never in between.
      const atArrival = refused.filter((r) => r.at < deadline / 2);
      const expired = refused.filter((r) => r.at >= deadline / 2);
      assert.ok(atArrival.length > 0);
      for (const r of expired) assert.ok(r.at >= deadline * 0.95, `refused after ${r.at.toFixed(0)} ms, before its deadline`);
      // Estimates are made at arrival from recent service times; other load on the machine can stretch them.
      assert.ok(expired.length <= served.length / 2, `${expired.length} waited until their deadline`);
      for (const r of atArrival) {
        const drain = (drained - r.at) / 1000;
        assert.ok(r.retryAfter <= 2 * drain && r.retryAfter >= drain / 2, `Retry-After ${r.retryAfter} s, drain ${drain.toFixed(2)} s`);
      }
    } finally {
      await srv.close();
    }
  });
});
