import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FsDerivativeStore } from '../../src/storage/fs.js';
import { purgeDerivatives } from '../../src/derive/purge.js';

describe('purgeDerivatives (fs)', () => {
  it('deletes {segment}/{key} in every segment and nothing else', async () => {
    const root = await mkdtemp(join(tmpdir(), 'resizer-purge-'));
    try {
      const store = new FsDerivativeStore(root);
      const put = (key: string) => store.put(key, Buffer.from(key), { contentType: 'image/jpeg' });
      // More segments than deletes run at once, so batching is exercised.
      const segments = Array.from({ length: 11 }, (_, i) => `${100 + i}x`);
      for (const s of segments) await put(`${s}/2024/cat.jpg`);
      await put('100x/2024/dog.jpg');
      await put('100x/2024/cat.jpg.bak');
      // The source's mezzanine dies with it (issue 14); another source's stays.
      await put('_/mezzanine/2024/cat.jpg');
      await put('_/mezzanine/2024/dog.jpg');

      const deleted = await purgeDerivatives(store, '2024/cat.jpg');
      // `_/2024/cat.jpg`: the `_` segment is listed like any other (deleting what is not there is a no-op).
      assert.deepEqual(deleted.sort(), [...segments.map((s) => `${s}/2024/cat.jpg`), '_/2024/cat.jpg', '_/mezzanine/2024/cat.jpg'].sort());
      for (const s of segments) assert.equal(await store.get(`${s}/2024/cat.jpg`), null);
      assert.equal(await store.get('_/mezzanine/2024/cat.jpg'), null);
      assert.ok(await store.get('_/mezzanine/2024/dog.jpg'));
      assert.ok(await store.get('100x/2024/dog.jpg'));
      assert.ok(await store.get('100x/2024/cat.jpg.bak'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a key that could leave the store', async () => {
    const store = new FsDerivativeStore(join(tmpdir(), 'resizer-purge-never-made'));
    await assert.rejects(purgeDerivatives(store, '../etc/passwd'), { status: 400 });
  });
});
