import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsDerivativeStore, sidecarName } from '../../src/storage/fs.js';
import { FIXTURES, startTestServer } from '../helpers/server.js';

let root: string;
before(async () => { root = await mkdtemp(join(tmpdir(), 'resizer-names-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });

/** A file name of exactly `bytes` UTF-8 bytes ending in `.png`, with multi-byte characters in it. */
function longName(bytes: number): string {
  const stem = 'é'.repeat(50); // 100 bytes
  return stem + 'x'.repeat(bytes - 100 - 4) + '.png';
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    out.push(e.name);
    if (e.isDirectory()) out.push(...await walk(join(dir, e.name)));
  }
  return out;
}

describe('fs derivative store: names near the limit, crash leftovers', () => {
  for (const bytes of [240, 251, 255]) {
    it(`a ${bytes}-byte file name is stored with its metadata, and no name passes 255 bytes`, async () => {
      const store = new FsDerivativeStore(join(root, `d${bytes}`));
      const key = `400x300/2024/${longName(bytes)}`;
      assert.equal(Buffer.byteLength(longName(bytes)), bytes);
      // Servable: the typed link for a file server is made too, when its name fits (`{name}.webp`).
      await store.put(key, Buffer.from('pixels'), { contentType: 'image/webp', metadata: { 'source-etag': '"e"' }, servable: true });
      const got = await store.get(key);
      assert.equal(got?.body.toString(), 'pixels');
      assert.equal(got?.contentType, 'image/webp');
      assert.deepEqual(got?.metadata, { 'source-etag': '"e"' });
      const names = await walk(join(root, `d${bytes}`));
      assert.ok(names.every((n) => Buffer.byteLength(n) <= 255), names.join('\n'));
      assert.ok(!names.some((n) => n.endsWith('.tmp')));
      const typed = await readFile(join(root, `d${bytes}`, '.typed', `${key}.webp`), 'utf8').catch(() => null);
      assert.equal(typed, bytes + '.webp'.length <= 255 ? 'pixels' : null);
      await store.delete(key);
      assert.equal(await store.get(key), null);
    });
  }

  it('short sidecar names are unchanged (existing caches keep their metadata)', () => {
    assert.equal(sidecarName('400x/a/b.jpg'), '400x/a/b.jpg.json');
    assert.match(sidecarName(`400x/a/${longName(252)}`), /^400x\/a\/~[0-9a-f]{40}\.json$/);
  });

  it('removes temp files older than the limit, in both spellings, in the data and the sidecar trees', async () => {
    const dir = join(root, 'sweep');
    const store = new FsDerivativeStore(dir);
    await store.put('100x/keep.png', Buffer.from('x'), { contentType: 'image/png' });
    const old = ['100x/.0123456789ab.tmp', '100x/keep.png.abcdef012345.tmp', '.meta/100x/.ba9876543210.tmp'];
    const young = '100x/.00000000000f.tmp';
    const notTemp = '100x/notes.tmp';
    for (const p of [...old, young, notTemp]) {
      await mkdir(join(dir, p, '..'), { recursive: true });
      await writeFile(join(dir, p), 'partial');
    }
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const p of [...old, notTemp]) await utimes(join(dir, p), hourAgo, hourAgo);
    assert.equal(await store.sweep(60_000), 3);
    assert.deepEqual((await walk(dir)).sort(), ['.00000000000f.tmp', '.meta', '100x', '100x', 'keep.png', 'keep.png.json', 'notes.tmp'].sort());
  });

  it('over HTTP: a source with a 240-byte name is made once, stored, and then served from the store', async () => {
    const sources = join(root, 'src');
    await mkdir(sources);
    const name = longName(240);
    await copyFile(join(FIXTURES, 'png/dice.png'), join(sources, name));
    const srv = await startTestServer({ source: sources, memoryCacheMb: 0 });
    try {
      const url = `${srv.url}/50x/${encodeURIComponent(name)}`;
      const first = await fetch(url);
      await first.arrayBuffer();
      const second = await fetch(url);
      await second.arrayBuffer();
      assert.deepEqual([first.status, first.headers.get('x-cache'), second.status, second.headers.get('x-cache')], [200, 'MISS', 200, 'HIT']);
      assert.equal(second.headers.get('content-type'), 'image/png');
      assert.equal(srv.app.stats.transforms, 1);
    } finally {
      await srv.close();
    }
  });
});
