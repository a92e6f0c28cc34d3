import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { FsDerivativeStore } from '../../src/storage/fs.js';

const storeModule = new URL('../../src/storage/fs.ts', import.meta.url).pathname;

describe('derivative writes are atomic', () => {
  it('a process killed mid-write leaves no partial derivative behind', async () => {
    const root = await mkdtemp(join(tmpdir(), 'resizer-atomic-'));
    try {
      // A 400 MB write takes long enough to be caught half-way.
      const script = `
        const { FsDerivativeStore } = await import(${JSON.stringify(storeModule)});
        const store = new FsDerivativeStore(${JSON.stringify(root)});
        await store.put('400x300/big.jpg', Buffer.alloc(400 * 1024 * 1024, 7), { contentType: 'image/jpeg' });
        console.log('finished');`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += c; });
      const dir = join(root, '400x300');
      let sawTemp = false;
      for (let i = 0; i < 3000 && !sawTemp; i++) {
        await sleep(5);
        const names = await readdir(dir).catch(() => [] as string[]);
        const tmp = names.find((n) => n.endsWith('.tmp'));
        if (tmp && (await stat(join(dir, tmp)).catch(() => undefined))?.size) sawTemp = true;
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(sawTemp, 'the write never started');
      assert.ok(!out.includes('finished'), 'the write finished before the kill; the test proves nothing');
      await assert.rejects(stat(join(dir, 'big.jpg')), /ENOENT/);
      const store = new FsDerivativeStore(root);
      assert.equal(await store.get('400x300/big.jpg'), null);
      // The crash's leftover is swept once old enough (the server sweeps at start, src/runtime.ts).
      assert.equal(await store.sweep(60_000), 0, 'a temp file younger than the age limit may be a live write');
      assert.ok((await readdir(dir)).some((n) => n.endsWith('.tmp')));
      assert.equal(await store.sweep(0), 1);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a completed write is read back whole with its content type', async () => {
    const root = await mkdtemp(join(tmpdir(), 'resizer-atomic-'));
    try {
      const store = new FsDerivativeStore(root);
      const body = Buffer.from('not really a png but bytes are bytes');
      await store.put('10x10/a/b.png', body, { contentType: 'image/png', metadata: { 'source-etag': '"x"' } });
      const got = await store.get('10x10/a/b.png');
      assert.deepEqual(got?.body, body);
      assert.equal(got?.contentType, 'image/png');
      assert.deepEqual(got?.metadata, { 'source-etag': '"x"' });
      assert.deepEqual(await readFile(join(root, '10x10/a/b.png')), body);
      assert.deepEqual((await readdir(join(root, '10x10/a'))).sort(), ['b.png']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
