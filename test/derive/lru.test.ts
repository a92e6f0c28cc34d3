import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryLru } from '../../src/derive/lru.js';

describe('entryLru', () => {
  it('holds at most its entries, dropping the least recently used', () => {
    const lru = entryLru<string, number>(3, 60_000);
    for (const [i, k] of ['a', 'b', 'c'].entries()) lru.set(k, i);
    lru.get('a');
    lru.set('d', 3);
    assert.equal(lru.size, 3);
    assert.deepEqual([lru.has('a'), lru.has('b'), lru.has('c'), lru.has('d')], [true, false, true, true]);
  });

  it('forgets an entry after its time', async () => {
    const lru = entryLru<string, true>(10, 20);
    lru.set('a', true);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(lru.get('a'), undefined);
  });

  it('allocates nothing up front: 100,000 entries cost nothing until filled', () => {
    const before = process.memoryUsage().heapUsed;
    const tables = Array.from({ length: 5 }, () => entryLru<string, true>(100_000, 60_000));
    assert.equal(tables.length, 5);
    // With `max`, the same five tables hold ~16 MB of arrays from the start.
    assert.ok(process.memoryUsage().heapUsed - before < 2 * 1024 * 1024, `${process.memoryUsage().heapUsed - before} bytes`);
  });
});
