import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Admission, RSS_PER_PREDICTED_BYTE, type AdmissionOptions, type Job } from '../../src/admission/admission.js';
import { ClientGone, ServiceUnavailable, Unprocessable } from '../../src/errors/index.js';

const MB = 2 ** 20;
const base: AdmissionOptions = { slots: 2, memoryBudgetBytes: 1000 * MB, readConcurrency: 4, queueSize: 100, queueTimeoutMs: 5000 };

/** A job that reads for `readMs`, is priced at `memory` MiB and `cpuMs`, and works for `workMs`. */
function job(o: { memory?: number; cpuMs?: number; workMs?: number; readMs?: number; signal?: AbortSignal; onWork?: () => void; onRead?: () => void }): Job<void, void> {
  return {
    signal: o.signal,
    read: async () => { o.onRead?.(); await sleep(o.readMs ?? 0); },
    price: () => ({ memoryBytes: (o.memory ?? 1) * MB, sourceBytes: 0, cpuMs: o.cpuMs ?? o.workMs ?? 10 }),
    work: async () => { o.onWork?.(); await sleep(o.workMs ?? 10); },
  };
}

describe('Admission', () => {
  it('runs at most `slots` at once, first come first served', async () => {
    const a = new Admission(base);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) => a.run({
      ...job({}),
      work: async () => { running++; peak = Math.max(peak, running); order.push(i); await sleep(10); running--; },
    })));
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(a.active, 0);
    assert.equal(a.waiting, 0);
    assert.equal(a.bytesInFlight, 0);
  });

  it('admits by predicted memory: jobs that do not fit the budget together wait, even with a slot free', async () => {
    // 40 MiB predicted is 60 MiB of resident memory (RSS_PER_PREDICTED_BYTE): two fit in 150, three do not.
    const a = new Admission({ ...base, slots: 4, memoryBudgetBytes: 150 * MB });
    let running = 0;
    let peak = 0;
    const track = { onWork: () => { running++; peak = Math.max(peak, running); } };
    const jobs = Array.from({ length: 6 }, () => a.run({ ...job({ memory: 40, workMs: 20, ...track }), work: async () => { track.onWork(); await sleep(20); running--; } }));
    await Promise.all(jobs);
    assert.equal(peak, 2, 'two fit in the budget, a third does not');
    assert.equal(a.stats.started, 6);
    assert.equal(RSS_PER_PREDICTED_BYTE, 1.5);
  });

  it('refuses a job that alone needs more than the whole budget with 422, without running it', async () => {
    const a = new Admission({ ...base, memoryBudgetBytes: 100 * MB });
    let worked = false;
    await assert.rejects(a.run(job({ memory: 150, onWork: () => { worked = true; } })), (e: unknown) => e instanceof Unprocessable && /memory budget of 100 MiB/.test(e.message));
    assert.equal(worked, false);
    assert.equal(a.stats.overBudget, 1);
    await a.run(job({ memory: 60 }));
  });

  it('reads sources outside the CPU slot: the next source is read while a transform runs', async () => {
    const a = new Admission({ ...base, slots: 1 });
    const events: string[] = [];
    await Promise.all([
      a.run(job({ workMs: 60, onRead: () => events.push('read 1'), onWork: () => events.push('work 1') })),
      a.run(job({ workMs: 10, onRead: () => events.push('read 2'), onWork: () => events.push('work 2') })),
    ]);
    assert.deepEqual(events.slice(0, 3).sort(), ['read 1', 'read 2', 'work 1']);
    assert.equal(events[3], 'work 2');
  });

  it('a waiter whose client has gone leaves the queue without running', async () => {
    const a = new Admission({ ...base, slots: 1 });
    const gone = new AbortController();
    let ran = false;
    const first = a.run(job({ workMs: 80 }));
    const second = a.run(job({ signal: gone.signal, onWork: () => { ran = true; } }));
    await sleep(20);
    assert.equal(a.waiting, 1);
    gone.abort();
    await assert.rejects(second, ClientGone);
    assert.equal(a.waiting, 0);
    await first;
    assert.equal(ran, false);
    assert.equal(a.stats.abandoned, 1);
  });

  it('refuses at arrival only when the estimated wait is past the deadline, with that wait as Retry-After', async () => {
    const a = new Admission({ ...base, slots: 1, queueTimeoutMs: 1000 });
    // Teach it the service time: 100 ms a job.
    for (let i = 0; i < 3; i++) await a.run(job({ workMs: 100, cpuMs: 100 }));
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => a.run(job({ workMs: 100, cpuMs: 100 }))));
    const served = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as ServiceUnavailable);
    // ~1000 ms of deadline over ~100 ms a job: about ten wait, the rest are refused at once.
    assert.ok(served >= 8 && served <= 13, `served ${served}`);
    assert.ok(refused.every((e) => e instanceof ServiceUnavailable && Number(e.headers['Retry-After']) >= 1 && Number(e.headers['Retry-After']) <= 2));
    // At most the last ones admitted, at the edge of their deadline less their own transform (timer jitter).
    assert.ok(a.stats.expired <= 2, `${a.stats.expired} admitted waited past their deadline`);
  });

  it('a waiter still waiting at its deadline gets 503', async () => {
    const a = new Admission({ ...base, slots: 1, queueTimeoutMs: 250 });
    // Predicted at 1 ms, it runs 400: the next one is admitted on the prediction, then waits too long.
    const slow = a.run(job({ workMs: 400, cpuMs: 1 }));
    while (a.active < 1) await sleep(1);
    await assert.rejects(a.run(job({})), ServiceUnavailable);
    assert.equal(a.stats.expired, 1);
    await slow;
  });

  it('frees the slot and the memory when a job throws', async () => {
    const a = new Admission({ ...base, slots: 1 });
    await assert.rejects(a.run({ ...job({ memory: 50 }), work: async () => { throw new Error('boom'); } }), /boom/);
    assert.equal(a.bytesInFlight, 0);
    await a.run(job({}));
    assert.equal(a.active, 0);
  });
});
