import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, realpath, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import { describe, it } from 'node:test';
import { storeContract } from './contract.js';
import type { SourceFile } from '../../src/storage/types.js';

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

describe('fs sources opened by path (libvips reads a large file itself)', () => {
  async function folder(): Promise<{ dir: string; store: FsSourceStore }> {
    const dir = await mkdtemp(join(tmpdir(), 'resizer-fs-open-'));
    return { dir, store: new FsSourceStore(dir) };
  }
  const big = (fill: number) => Buffer.alloc(300 * 1024, fill);

  it('hands out a large file as its path and first bytes, a small one as its bytes, with the same version as get', async () => {
    const { dir, store } = await folder();
    try {
      await writeFile(join(dir, 'big.bin'), big(7));
      await writeFile(join(dir, 'small.bin'), Buffer.alloc(1000, 3));
      const opened = await store.open('big.bin', { maxBytes: 1e9 });
      assert.ok('path' in opened, 'a large file is opened by path');
      assert.equal(opened.path, join(await realpath(dir), 'big.bin'));
      assert.deepEqual(opened.head, Buffer.alloc(4096, 7));
      assert.equal(opened.size, 300 * 1024);
      assert.equal(opened.etag, (await store.get('big.bin', { maxBytes: 1e9 })).etag);
      assert.equal(await opened.unchanged(), true);
      const small = await store.open('small.bin', { maxBytes: 1e9 });
      assert.ok('body' in small && small.body.equals(Buffer.alloc(1000, 3)), 'a small file is read whole');
      // libvips would read the brackets as load options of a file named `odd.bin`.
      await writeFile(join(dir, 'odd.bin[shrink=8]'), big(5));
      const odd = await store.open('odd.bin[shrink=8]', { maxBytes: 1e9 });
      assert.ok('body' in odd && odd.body.equals(big(5)), 'a name libvips cannot open is read whole');
      await assert.rejects(store.open('big.bin', { maxBytes: 1000 }), { status: 413 });
      await assert.rejects(store.open('missing.bin', { maxBytes: 1e9 }), { status: 404 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells when the file was replaced, rewritten or removed after it was opened', async () => {
    const { dir, store } = await folder();
    try {
      const path = join(dir, 'a.bin');
      const open = async () => { await writeFile(path, big(1)); return store.open('a.bin', { maxBytes: 1e9 }) as Promise<SourceFile>; };
      let opened = await open();
      await writeFile(`${path}.new`, big(2));
      await rename(`${path}.new`, path);
      assert.equal(await opened.unchanged(), false, 'replaced by a rename (same size)');
      opened = await open();
      await sleep(5);
      await appendFile(path, 'x');
      assert.equal(await opened.unchanged(), false, 'rewritten in place');
      opened = await open();
      await rm(path);
      assert.equal(await opened.unchanged(), false, 'removed');
      opened = await open();
      await writeFile(join(dir, 'other.bin'), big(3));
      await rm(path);
      await symlink(join(dir, 'other.bin'), path);
      assert.equal(await opened.unchanged(), false, 'replaced by a link');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
