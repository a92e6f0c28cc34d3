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

describe('fs derivative reads across a replacement', () => {
  it('never pairs the new sidecar with the old image: a read torn between the two writes is made again', async () => {
    const root = await mkdtemp(join(tmpdir(), 'resizer-fs-torn-'));
    try {
      const store = new FsDerivativeStore(root);
      const key = '400x300,avif/photo.jpg';
      const provisional = Buffer.from('provisional bytes');
      const final = Buffer.from('final bytes');
      await store.put(key, provisional, { contentType: 'image/avif', metadata: { optimise: 'pending' } });
      await store.put(key, final, { contentType: 'image/avif', metadata: { optimise: 'done' } });
      assert.deepEqual({ ...(await store.get(key)), lastModified: undefined, etag: undefined },
        { body: final, contentType: 'image/avif', metadata: { optimise: 'done' }, lastModified: undefined, etag: undefined });
      // The state between a put's two renames: the new sidecar is in place, the image is still the old one.
      await writeFile(join(root, key), provisional);
      assert.equal(await store.get(key), null, 'the old bytes are not served as final');
      // A writer that finishes meanwhile is waited for: the read is tried again.
      await writeFile(join(root, key), provisional);
      const later = setTimeout(() => void writeFile(join(root, key), final), 3);
      const read = await store.get(key);
      clearTimeout(later);
      assert.ok(read === null || (read.body.equals(final) && read.metadata.optimise === 'done'));
      // Sidecars written before they named their image's ETag are still read.
      await writeFile(join(root, key), final);
      await writeFile(join(root, '.meta', `${key}.json`), JSON.stringify({ contentType: 'image/avif', metadata: { optimise: 'done' } }));
      assert.ok((await store.get(key))?.body.equals(final));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
