import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Limiter } from '../../src/cache/limiter.js';
import { runWithDeadline } from '../../src/derive/deadline.js';
import { startTestServer } from '../helpers/server.js';

describe('the transform deadline', () => {
  it('an AVIF encode past the timeout answers 504 within timeout + 1 s, and its slot comes back', async () => {
    // One slot, so a stuck slot would show as the next request never starting.
    const srv = await startTestServer({ transformTimeoutSeconds: 1, concurrency: 1, queueSize: 4, maxOutputPixels: 40_000_000, failureTtlSeconds: 0 });
    try {
      const started = Date.now();
      // 36 MP at q100: ~7 s of AVIF encoding on one core, all of it inside the encoder where sharp's timeout is not checked.
      const res = await fetch(`${srv.url}/6000x6000,enlarge,avif,q100/orientation/pillow/hopper.jpg`);
      const elapsed = Date.now() - started;
      assert.equal(res.status, 504, await res.text());
      assert.ok(elapsed <= 2000, `answered after ${elapsed} ms`);
      // The abandoned encode keeps its slot for at most another timeout, then the slot is free again.
      while (srv.app.limiter.active > 0 && Date.now() - started < 10_000) await sleep(50);
      const freedAfter = Date.now() - started;
      assert.ok(freedAfter < 3500, `slot freed after ${freedAfter} ms`);
      const next = await fetch(`${srv.url}/30x/orientation/pillow/hopper.jpg`);
      assert.equal(next.status, 200);
    } finally {
      await srv.close();
    }
  });

  it('a job that ends soon after the deadline frees its slot when it ends', async () => {
    const limiter = new Limiter({ concurrency: 1, queueSize: 1, queueTimeoutMs: 5000 });
    const started = Date.now();
    let ended = 0;
    await assert.rejects(
      runWithDeadline(limiter, async () => { await sleep(300); ended = Date.now(); return 1; }, { timeoutMs: 100, holdAfterTimeoutMs: 5000 }),
      (err: { status?: number }) => err.status === 504,
    );
    assert.ok(Date.now() - started < 250, 'answered at the deadline');
    assert.equal(limiter.active, 1, 'the slot is held while the abandoned job runs');
    while (limiter.active > 0) await sleep(10);
    assert.ok(ended > 0 && Date.now() - ended < 100, 'freed when the job ended');
    assert.equal(await runWithDeadline(limiter, async () => 2, { timeoutMs: 100, holdAfterTimeoutMs: 100 }), 2);
  });

  it('passes results and errors through before the deadline', async () => {
    const limiter = new Limiter({ concurrency: 1, queueSize: 0, queueTimeoutMs: 5000 });
    assert.equal(await runWithDeadline(limiter, async () => 'ok', { timeoutMs: 1000, holdAfterTimeoutMs: 0 }), 'ok');
    await assert.rejects(runWithDeadline(limiter, async () => { throw new Error('boom'); }, { timeoutMs: 1000, holdAfterTimeoutMs: 0 }), /boom/);
    assert.equal(limiter.active, 0);
  });
});
