import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import { workerShare } from '../../src/server/cluster.js';
import { startServerProcess } from '../helpers/process.js';

function parentOf(pid: number): number {
  // The command name may hold spaces, so read the fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try { return parentOf(p) === pid; } catch { return false; }
  });
}

describe('--workers N', () => {
  it('splits concurrency, queue and hot set between the workers', () => {
    const share = workerShare({ ...DEFAULTS, concurrency: 4, queueSize: 4, memoryCacheMb: 64 }, 2);
    assert.deepEqual([share.concurrency, share.queueSize, share.memoryCacheMb], [2, 2, 32]);
    assert.equal(workerShare(DEFAULTS, 1), DEFAULTS);
  });

  it('serves from N processes on one port, replaces a worker that dies, and stops them all', async () => {
    const srv = await startServerProcess(['--source', 'demo/images', '--cache', 'none', '--port', '0', '--workers', '2', '--log-level', 'info']);
    let workers: number[] = [];
    try {
      const primary = parentOf(srv.pid);
      // The second worker may log its line just after the first.
      for (let i = 0; i < 100 && workers.length < 2; i++) { workers = childrenOf(primary); await sleep(50); }
      assert.equal(workers.length, 2, `workers of ${primary}: ${workers}`);
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${srv.url}/50x/dice.png`);
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      process.kill(workers[0]!, 'SIGKILL');
      let replaced: number[] = [];
      for (let i = 0; i < 100; i++) {
        replaced = childrenOf(primary);
        if (replaced.length === 2 && !replaced.includes(workers[0]!)) break;
        await sleep(50);
      }
      assert.equal(replaced.length, 2, 'a new worker took the dead one\'s place');
      assert.ok(!replaced.includes(workers[0]!));
      workers = replaced;
      // The keep-alive connection of the fetches above may have been the dead worker's: a request racing its close
      // fails at the socket (undici does not retry it), which says nothing about the server. One retry, on a new one.
      const res = await fetch(`${srv.url}/50x/dice.png`).catch(() => fetch(`${srv.url}/50x/dice.png`));
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await srv.stop();
    }
    const alive = (w: number) => { try { process.kill(w, 0); return true; } catch { return false; } };
    for (let i = 0; i < 100 && workers.some(alive); i++) await sleep(50);
    for (const w of workers) assert.ok(!alive(w), `worker ${w} still running 5 s after the stop`);
  });

  it('one worker sweeps crash leftovers in the shared cache folder, not every worker', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'resizer-sweep-'));
    try {
      const leftovers = ['a', 'b', 'c'].map((n) => join(cache, `.${n.repeat(12)}.tmp`));
      const old = new Date(Date.now() - 3_600_000);
      for (const f of leftovers) { await writeFile(f, 'x'); await utimes(f, old, old); }
      const srv = await startServerProcess(['--source', 'demo/images', '--cache', cache, '--port', '0', '--workers', '2', '--log-level', 'info']);
      try {
        // Both workers listen before the test goes on; a sweep logs whether it removed anything or not.
        for (let i = 0; i < 100 && (srv.log().match(/listening on/g) ?? []).length < 2; i++) await sleep(50);
        await sleep(1000);
        const sweeps = srv.log().split('\n').filter((l) => /temp files left by a crash/.test(l));
        assert.equal(sweeps.length, 1, sweeps.join('\n'));
        assert.match(sweeps[0]!, /"removed":3/);
      } finally {
        await srv.stop();
      }
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
