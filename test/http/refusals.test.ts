import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ServiceUnavailable } from '../../src/errors/index.js';
import { createRefusalPolicy } from '../../src/http/refusals.js';

describe('refusal policy', () => {
  it('holds each refusal and logs a storm of them as one line plus a count', async () => {
    const lines: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const log = (obj: object, msg?: string) => { lines.push({ obj: obj as Record<string, unknown>, msg }); };
    const policy = createRefusalPolicy(20, { info: log, warn: log, error: log });
    const res = { status: 503, headers: {} };
    const started = performance.now();
    await Promise.all(Array.from({ length: 100 }, () => policy.answer(res, new ServiceUnavailable('busy'), '/x')));
    assert.ok(performance.now() - started >= 19, 'held');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, 'request refused');
    assert.equal(policy.pending, 99);
    await sleep(1100);
    assert.equal(lines.length, 2);
    assert.deepEqual([lines[1]!.msg, lines[1]!.obj.refused], ['requests refused', 99]);
  });
});
