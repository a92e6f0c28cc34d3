import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import { describe, it } from 'node:test';
import { storeContract } from './contract.js';

storeContract('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'resizer-fs-contract-'));
  const sourceDir = join(root, 'sources');
  await mkdir(sourceDir);
  return {
    sources: new FsSourceStore(sourceDir),
    derivatives: new FsDerivativeStore(join(root, 'derivatives')),
    async putSource(key, body) {
      const path = join(sourceDir, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
});

describe('fs typed links (what nginx serves, README, "nginx in front")', () => {
  const exists = (p: string) => stat(p).then(() => true, () => false);

  it('links final bytes at .typed/{key}.{format}, unlinks them for provisional bytes and on delete', async () => {
    const root = await mkdtemp(join(tmpdir(), 'resizer-fs-typed-'));
    try {
      const store = new FsDerivativeStore(root);
      const key = '400x300,webp/2024/cat photo.jpg';
      const typed = join(root, '.typed', `${key}.webp`);
      await store.put(key, Buffer.from('provisional'), { contentType: 'image/webp' });
      assert.equal(await exists(typed), false, 'provisional bytes are not for a file server');
      await store.put(key, Buffer.from('final'), { contentType: 'image/webp', servable: true });
      assert.equal(await readFile(typed, 'utf8'), 'final');
      assert.equal((await stat(typed)).ino, (await stat(join(root, key))).ino, 'a hard link, not a copy');
      await store.put(key, Buffer.from('made again'), { contentType: 'image/webp' });
      assert.equal(await exists(typed), false, 'a file server must not keep serving replaced bytes');
      await store.put(key, Buffer.from('final 2'), { contentType: 'image/webp', servable: true });
      await store.delete(key);
      assert.equal(await exists(typed), false);
      const segments: string[] = [];
      for await (const s of store.listSegments()) segments.push(s);
      assert.deepEqual(segments, ['400x300,webp']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('fs image and sidecar read as one pair', () => {
  const key = '400x300,webp/a.jpg';
  /** What a writer has done between its two renames: the new sidecar is in place, the old image still is. */
  async function halfReplaced(root: string, store: FsDerivativeStore) {
    await store.put(key, Buffer.from('provisional bytes'), { contentType: 'image/webp', metadata: { optimise: 'pending' } });
    const other = await mkdtemp(join(tmpdir(), 'resizer-fs-pair-next-'));
    try {
      await new FsDerivativeStore(other).put(key, Buffer.from('final bytes'), { contentType: 'image/webp', metadata: { optimise: 'done' } });
      await writeFile(join(root, '.meta', `${key}.json`), await readFile(join(other, '.meta', `${key}.json`)));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  }

  /** A store over a fresh folder for one test, removed after it. */
  async function withStore(test: (root: string, store: FsDerivativeStore) => Promise<void>): Promise<void> {
    const root = await mkdtemp(join(tmpdir(), 'resizer-fs-pair-'));
    try {
      await test(root, new FsDerivativeStore(root));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  it('never pairs a new sidecar with the old bytes: the read waits for the image to follow', () => withStore(async (root, store) => {
    await halfReplaced(root, store);
    const read = store.get(key);
    setTimeout(() => void writeFile(join(root, key), 'final bytes'), 30);
    const got = await read;
    assert.equal(got?.body.toString(), 'final bytes');
    assert.equal(got?.metadata.optimise, 'done');
  }));

  it('treats a pair that stays mismatched (a crash between the renames) as missing, so it is made again', () => withStore(async (root, store) => {
    await halfReplaced(root, store);
    assert.equal(await store.get(key), null);
    await store.put(key, Buffer.from('made again'), { contentType: 'image/webp', metadata: { optimise: 'done' } });
    assert.equal((await store.get(key))?.body.toString(), 'made again');
  }));

  it('reads sidecars written before they named their bytes', () => withStore(async (root, store) => {
    await store.put(key, Buffer.from('old cache'), { contentType: 'image/webp', metadata: { a: '1' } });
    await writeFile(join(root, '.meta', `${key}.json`), JSON.stringify({ contentType: 'image/webp', metadata: { a: '1' } }));
    const got = await store.get(key);
    assert.equal(got?.body.toString(), 'old cache');
    assert.equal(got?.metadata.a, '1');
  }));
});
