import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { mezzanineKey } from '../../src/derive/mezzanine.js';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import type { SourceStore } from '../../src/storage/types.js';
import { rawRequest } from '../helpers/http.js';
import { FIXTURES, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The mezzanine in the derivative service (issue 14), on disk: made once per source, later misses made from it
 * without reading the source, the fallbacks that read the source, and a replaced source never served from its
 * old mezzanine. The long side is the smallest allowed (256 px), so small sources stand for big ones.
 */
const SIZE = 256;

/** A source folder and a store over it that counts whole reads per key. */
async function countingSources(): Promise<{ dir: string; store: SourceStore; reads: (key: string) => number }> {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-mezz-src-'));
  const fs = new FsSourceStore(dir);
  const counts = new Map<string, number>();
  const store: SourceStore = {
    description: fs.description,
    head: (k) => fs.head(k),
    get: (k, o) => { counts.set(k, (counts.get(k) ?? 0) + 1); return fs.get(k, o); },
  };
  return { dir, store, reads: (k) => counts.get(k) ?? 0 };
}

/** A 1200×800 progressive JPEG photo (the Kleiber fixture, scaled), bigger than the mezzanine. */
async function photo(path: string, progressive = true): Promise<void> {
  await sharp(join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg')).resize({ width: 1200, height: 800, fit: 'cover' }).jpeg({ quality: 90, progressive }).toFile(path);
}

/** A flat-coloured 1200×800 progressive JPEG: which colour a derivative shows tells which source it was made from. */
async function flat(path: string, colour: 'red' | 'blue'): Promise<void> {
  const background = colour === 'red' ? { r: 220, g: 20, b: 20 } : { r: 20, g: 20, b: 220 };
  await writeFile(path, await sharp({ create: { width: 1200, height: 800, channels: 3, background } }).jpeg({ progressive: true }).toBuffer());
}

async function colourOf(body: Buffer): Promise<'red' | 'blue' | 'other'> {
  const { channels } = await sharp(body).stats();
  const [r, , b] = channels.map((c) => c.mean);
  return r! > 180 && b! < 60 ? 'red' : b! > 180 && r! < 60 ? 'blue' : 'other';
}

async function get(srv: TestServer, path: string): Promise<Buffer> {
  const res = await rawRequest(srv.url, path);
  assert.equal(res.status, 200, `${path}: ${res.body.toString().slice(0, 200)}`);
  return res.body;
}

describe('the mezzanine (disk)', () => {
  let src: Awaited<ReturnType<typeof countingSources>>;
  let srv: TestServer;
  before(async () => {
    src = await countingSources();
    await photo(join(src.dir, 'photo.jpg'));
    srv = await startTestServer({ mezzanineSize: SIZE, source: src.dir }, { sources: src.store });
  });
  after(async () => {
    await srv.close();
    await rm(src.dir, { recursive: true, force: true });
  });

  it('the second miss of a source makes it; later misses it can serve are made from it, not the source, under their own keys', async () => {
    // The first goes the direct way: a page of distinct thumbnails asks each source once.
    await get(srv, '/100x/photo.jpg');
    assert.deepEqual([src.reads('photo.jpg'), srv.app.stats.mezzanines, srv.app.stats.fromMezzanine], [1, 0, 0]);
    assert.equal(await new FsDerivativeStore(srv.cacheDir).get(mezzanineKey('photo.jpg')), null);
    await get(srv, '/90x/photo.jpg');
    assert.deepEqual([src.reads('photo.jpg'), srv.app.stats.mezzanines, srv.app.stats.fromMezzanine], [2, 1, 1]);
    const stored = await new FsDerivativeStore(srv.cacheDir).get(mezzanineKey('photo.jpg'));
    assert.ok(stored, 'the mezzanine is stored under _/mezzanine/');
    const meta = await sharp(stored.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', SIZE, 171]);
    assert.equal(stored.metadata['source-etag'], (await src.store.head('photo.jpg'))?.etag);
    assert.deepEqual([stored.metadata['source-width'], stored.metadata['source-height']], ['1200', '800']);

    const made: [string, string, number, number][] = [
      ['/64x64,cover,webp/photo.jpg', 'webp', 64, 64], ['/120x,webp/photo.jpg', 'webp', 120, 80],
      ['/100x80,contain,north/photo.jpg', 'jpeg', 100, 80], ['/60x60,cover,fp-0.2-0.8,flip/photo.jpg', 'jpeg', 60, 60],
    ];
    for (const [path, format, width, height] of made) {
      const meta = await sharp(await get(srv, path)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], [format, width, height], path);
    }
    assert.deepEqual([src.reads('photo.jpg'), srv.app.stats.mezzanines, srv.app.stats.fromMezzanine], [2, 1, 5]);
    // The derivative keys are the ones they always were.
    const cache = new FsDerivativeStore(srv.cacheDir);
    for (const key of ['100x/photo.jpg', '90x/photo.jpg', '64x64,cover,webp/photo.jpg', '120x,webp/photo.jpg']) assert.ok(await cache.get(key), key);
  });

  it('is never served: its path is a service endpoint that does not exist', async () => {
    const res = await rawRequest(srv.url, '/_/mezzanine/photo.jpg');
    assert.equal(res.status, 404);
  });

  // Each condition of the fallback: the source is read again, nothing is made from the mezzanine.
  for (const [why, path] of [
    ['lossless output', '/100x,webp,lossless/photo.jpg'],
    ['PNG output (lossless)', '/100x,png/photo.jpg'],
    ['keepicc', '/100x,keepicc/photo.jpg'],
    ['trim', '/100x,trim/photo.jpg'],
    ['a quarter turn', '/100x,r90/photo.jpg'],
    ['more than half the mezzanine\'s resolution', `/${SIZE / 2 + 1}x/photo.jpg`],
    ['more than half, through dpr', `/65x,dpr2/photo.jpg`],
    ['no size (the whole source)', '/webp/photo.jpg'],
  ] as const) {
    it(`falls back to the source for ${why}`, async () => {
      const reads = src.reads('photo.jpg');
      const used = srv.app.stats.fromMezzanine;
      await get(srv, path);
      assert.deepEqual([src.reads('photo.jpg') - reads, srv.app.stats.fromMezzanine - used], [1, 0]);
    });
  }

  it('uses it up to exactly half its resolution', async () => {
    const reads = src.reads('photo.jpg');
    await get(srv, `/${SIZE / 2}x/photo.jpg`);
    assert.equal(src.reads('photo.jpg'), reads);
  });
});

describe('the mezzanine: sources it cannot stand in for', () => {
  let src: Awaited<ReturnType<typeof countingSources>>;
  let srv: TestServer;
  const sources: Record<string, string> = {
    'deep.png': 'png/sample.png', // 16 bits per channel, 290×442
    'deep.tif': 'tiff16/sample.tif',
    'animated.gif': 'anim/animated.gif', // 10 frames, 320×320
    'alpha.png': 'png/dice.png', // 800×600 with alpha
    'drawing.svg': 'svg/logo.svg',
  };
  before(async () => {
    src = await countingSources();
    for (const [key, fixture] of Object.entries(sources)) await copyFile(join(FIXTURES, fixture), join(src.dir, key));
    // No larger than the mezzanine: it would save nothing.
    await sharp(join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg')).resize({ width: SIZE, height: 170 }).jpeg({ progressive: true }).toFile(join(src.dir, 'small.jpg'));
    // Baseline JPEGs shrink on load cheaply: measured slower through a mezzanine (docs/benchmarks.md, "srcset").
    await photo(join(src.dir, 'baseline.jpg'), false);
    srv = await startTestServer({ mezzanineSize: SIZE, source: src.dir }, { sources: src.store });
  });
  after(async () => {
    await srv.close();
    await rm(src.dir, { recursive: true, force: true });
  });

  for (const key of ['deep.png', 'deep.tif', 'animated.gif', 'alpha.png', 'drawing.svg', 'small.jpg', 'baseline.jpg']) {
    it(`${key}: every miss reads the source, and no mezzanine is made`, async () => {
      await get(srv, `/40x/${key}`);
      await get(srv, `/30x,webp/${key}`);
      assert.equal(src.reads(key), 2);
      assert.equal(await new FsDerivativeStore(srv.cacheDir).get(mezzanineKey(key)), null);
      assert.equal(srv.app.stats.fromMezzanine, 0);
    });
  }

  it('mezzanine off (--mezzanine off): nothing made, every miss reads the source', async () => {
    const off = await startTestServer({ mezzanine: 'off', source: src.dir }, { sources: src.store });
    try {
      await photo(join(src.dir, 'big.jpg'));
      await get(off, '/40x/big.jpg');
      await get(off, '/30x/big.jpg');
      assert.deepEqual([src.reads('big.jpg'), off.app.stats.mezzanines], [2, 0]);
    } finally {
      await off.close();
    }
  });
});

describe('the mezzanine is single-flighted', () => {
  it('concurrent misses of one source\'s sizes make one mezzanine', async () => {
    const src = await countingSources();
    await photo(join(src.dir, 'p.jpg'));
    const srv = await startTestServer({ mezzanineSize: SIZE, source: src.dir }, { sources: src.store });
    try {
      await Promise.all([40, 50, 60, 70, 80, 90].map((w) => get(srv, `/${w}x/p.jpg`)));
      assert.equal(srv.app.stats.mezzanines, 1);
    } finally {
      await srv.close();
      await rm(src.dir, { recursive: true, force: true });
    }
  });
});

describe('a replaced source is never served from its old mezzanine (disk)', () => {
  it('purge deletes the mezzanine with the derivatives', async () => {
    const src = await countingSources();
    await flat(join(src.dir, 'c.jpg'), 'red');
    const srv = await startTestServer({ mezzanineSize: SIZE, source: src.dir }, { sources: src.store });
    try {
      for (const size of [100, 90, 70]) assert.equal(await colourOf(await get(srv, `/${size}x/c.jpg`)), 'red');
      assert.equal(srv.app.stats.fromMezzanine, 2, 'the second and third misses');
      await flat(join(src.dir, 'c.jpg'), 'blue');
      const purged = await srv.app.purge('c.jpg');
      assert.ok(purged.includes(mezzanineKey('c.jpg')));
      assert.equal(await new FsDerivativeStore(srv.cacheDir).get(mezzanineKey('c.jpg')), null);
      // A size never made before: the old mezzanine would have made it red.
      assert.equal(await colourOf(await get(srv, '/80x/c.jpg')), 'blue');
      assert.equal(await colourOf(await get(srv, '/100x/c.jpg')), 'blue');
      assert.equal(srv.app.stats.mezzanines, 2);
    } finally {
      await srv.close();
      await rm(src.dir, { recursive: true, force: true });
    }
  });

  it('revalidation: an outdated derivative and a new size are both made from the new source', async () => {
    const src = await countingSources();
    await flat(join(src.dir, 'old-size.jpg'), 'red');
    await flat(join(src.dir, 'new-size.jpg'), 'red');
    const INTERVAL_S = 1;
    const srv = await startTestServer({ mezzanineSize: SIZE, source: src.dir, revalidateSeconds: INTERVAL_S, memoryCacheMb: 0 }, { sources: src.store });
    try {
      for (const key of ['old-size.jpg', 'new-size.jpg']) assert.equal(await colourOf(await get(srv, `/100x/${key}`)), 'red');
      await flat(join(src.dir, 'old-size.jpg'), 'blue');
      await flat(join(src.dir, 'new-size.jpg'), 'blue');
      // Past the interval (Last-Modified has whole seconds: one more second of room).
      await sleep(INTERVAL_S * 1000 + 1100);
      // The derivative made before is outdated: made again from the source (its mezzanine is not trusted).
      assert.equal(await colourOf(await get(srv, '/100x/old-size.jpg')), 'blue');
      assert.equal(await colourOf(await get(srv, '/80x/old-size.jpg')), 'blue');
      // A size never made: the mezzanine is checked against the source's ETag, and found outdated.
      assert.equal(await colourOf(await get(srv, '/80x/new-size.jpg')), 'blue');
      assert.equal(await colourOf(await get(srv, '/100x/new-size.jpg')), 'blue');
    } finally {
      await srv.close();
      await rm(src.dir, { recursive: true, force: true });
    }
  });
});
