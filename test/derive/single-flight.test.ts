import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SingleFlight } from '../../src/derive/single-flight.js';

describe('SingleFlight', () => {
  it('shares one execution among concurrent callers, then forgets it', async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    const work = async () => { calls++; await sleep(10); return 7; };
    const results = await Promise.all([flights.run('k', work), flights.run('k', work), flights.run('k', work)]);
    assert.equal(calls, 1);
    assert.deepEqual(results.map((r) => r.shared), [false, true, true]);
    assert.equal(flights.size, 0);
    await flights.run('k', work);
    assert.equal(calls, 2);
  });

  it('shares errors too, and does not cache them', async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    const work = async () => { calls++; await sleep(5); throw new Error('nope'); };
    const all = await Promise.allSettled([flights.run('k', work), flights.run('k', work)]);
    assert.ok(all.every((r) => r.status === 'rejected'));
    assert.equal(calls, 1);
    await assert.rejects(flights.run('k', work));
    assert.equal(calls, 2);
  });

  it('aborts the work only when every caller has gone', async () => {
    const flights = new SingleFlight<boolean>();
    const a = new AbortController();
    const b = new AbortController();
    const work = async (signal: AbortSignal) => { await sleep(30); return signal.aborted; };
    const first = flights.run('k', work, a.signal);
    const second = flights.run('k', work, b.signal);
    a.abort();
    assert.equal((await second).value, false, 'one caller left, the other still waits: not aborted');
    await first;
    const c = new AbortController();
    const third = flights.run('j', work, c.signal);
    c.abort();
    assert.equal((await third).value, true);
  });
});
