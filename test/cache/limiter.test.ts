import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Limiter } from '../../src/cache/limiter.js';
import { SingleFlight } from '../../src/cache/single-flight.js';
import { ServiceUnavailable } from '../../src/errors/index.js';

describe('Limiter', () => {
  it('runs at most `concurrency` jobs at once and queues the rest in order', async () => {
    const limiter = new Limiter({ concurrency: 2, queueSize: 10, queueTimeoutMs: 5000 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) => limiter.run(async () => {
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      await sleep(10);
      running--;
    })));
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(limiter.active, 0);
    assert.equal(limiter.waiting, 0);
  });

  it('refuses at once when the queue is full', async () => {
    const limiter = new Limiter({ concurrency: 1, queueSize: 1, queueTimeoutMs: 5000 });
    const slow = limiter.run(() => sleep(50));
    const queued = limiter.run(() => sleep(1));
    const started = Date.now();
    await assert.rejects(limiter.run(() => sleep(1)), (e: unknown) => e instanceof ServiceUnavailable && e.headers['Retry-After'] === '1');
    // Refused before the 50 ms job ahead of it could finish: no waiting in line.
    assert.ok(Date.now() - started < 45);
    await Promise.all([slow, queued]);
  });

  it('gives up on a queued job after the queue timeout', async () => {
    const limiter = new Limiter({ concurrency: 1, queueSize: 5, queueTimeoutMs: 20 });
    const slow = limiter.run(() => sleep(100));
    await assert.rejects(limiter.run(() => sleep(1)), ServiceUnavailable);
    await slow;
    assert.equal(limiter.waiting, 0);
    await limiter.run(() => sleep(1));
    assert.equal(limiter.active, 0);
  });

  it('frees the slot when a job throws', async () => {
    const limiter = new Limiter({ concurrency: 1, queueSize: 0, queueTimeoutMs: 1000 });
    await assert.rejects(limiter.run(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await limiter.run(async () => 42), 42);
  });
});

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
});
