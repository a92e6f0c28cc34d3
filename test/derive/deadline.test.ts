import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadline } from '../../src/derive/deadline.js';
import { TransformTimeout } from '../../src/errors/index.js';
import { startTestServer } from '../helpers/server.js';

/** A one-slot runner that counts the slot as taken until the job's promise settles, as admission does. */
function slot() {
  const state = { active: 0 };
  const run = async <T>(job: () => Promise<T>): Promise<T> => {
    state.active++;
    try {
      return await job();
    } finally {
      state.active--;
    }
  };
  return { state, run };
}

describe('the transform deadline', () => {
  it('an AVIF encode past the timeout answers 422 within timeout + 1 s, and its slot comes back', async () => {
    // One slot, so a stuck slot would show as the next request never starting.
    const srv = await startTestServer({ transformTimeoutSeconds: 1, concurrency: 1, maxOutputPixels: 40_000_000, failureTtlSeconds: 0 });
    try {
      const started = Date.now();
      // 36 MP at q100: ~7 s of AVIF encoding on one core, all of it inside the encoder where sharp's timeout is not checked.
      const res = await fetch(`${srv.url}/6000x6000,enlarge,avif,q100/orientation/pillow/hopper.jpg`);
      const elapsed = Date.now() - started;
      assert.equal(res.status, 422, await res.text());
      assert.ok(elapsed <= 2000, `answered after ${elapsed} ms`);
      // The abandoned encode keeps its slot for at most another timeout, then the slot is free again.
      while (srv.app.admission.active > 0 && Date.now() - started < 10_000) await sleep(50);
      const freedAfter = Date.now() - started;
      assert.ok(freedAfter < 3500, `slot freed after ${freedAfter} ms`);
      const next = await fetch(`${srv.url}/30x/orientation/pillow/hopper.jpg`);
      assert.equal(next.status, 200);
    } finally {
      await srv.close();
    }
  });

  it('a job that ends soon after the deadline frees its slot when it ends', async () => {
    const { state, run } = slot();
    const d = new Deadline<number>({ timeoutMs: 100, holdAfterTimeoutMs: 5000 });
    const started = Date.now();
    let ended = 0;
    await assert.rejects(d.answer(run(() => d.hold(sleep(300).then(() => { ended = Date.now(); return 1; })))), TransformTimeout);
    assert.ok(Date.now() - started < 250, 'answered at the deadline');
    assert.equal(state.active, 1, 'the slot is held while the abandoned job runs');
    while (state.active > 0) await sleep(10);
    assert.ok(ended > 0 && Date.now() - ended < 100, 'freed when the job ended');
  });

  it('a job that never ends frees its slot one hold period after the deadline', async () => {
    const { state, run } = slot();
    const d = new Deadline<number>({ timeoutMs: 50, holdAfterTimeoutMs: 150 });
    const started = Date.now();
    await assert.rejects(d.answer(run(() => d.hold(new Promise<number>(() => undefined)))), TransformTimeout);
    while (state.active > 0) await sleep(10);
    const freed = Date.now() - started;
    assert.ok(freed >= 190 && freed < 600, `freed after ${freed} ms`);
  });

  it('passes results and errors through before the deadline, after the slot is free', async () => {
    const { state, run } = slot();
    const ok = new Deadline<string>({ timeoutMs: 1000, holdAfterTimeoutMs: 0 });
    assert.equal(await ok.answer(run(() => ok.hold(Promise.resolve('ok')))), 'ok');
    assert.equal(state.active, 0);
    const bad = new Deadline<string>({ timeoutMs: 1000, holdAfterTimeoutMs: 0 });
    await assert.rejects(bad.answer(run(() => bad.hold(Promise.reject(new Error('boom'))))), /boom/);
    assert.equal(state.active, 0);
  });
});
