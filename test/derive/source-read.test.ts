import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { SOURCE_ETAG } from '../../src/derive/metadata.js';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import type { SourceFile, SourceObject, SourceStore } from '../../src/storage/types.js';
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The miss path reads a large local source through libvips by its path (issue 13: no multi-megabyte buffer per
 * miss), and a file replaced while libvips reads it never yields a derivative labelled with the other version.
 */

/** A 1200×800 (or 800×1200) JPEG of one colour, with noise so that it is larger than the store's whole-read size. */
async function image(colour: 'red' | 'blue', portrait = false): Promise<Buffer> {
  const [width, height] = portrait ? [800, 1200] : [1200, 800];
  const noise = await sharp({ create: { width, height, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 0, sigma: 20 } } }).raw().toBuffer();
  const base = colour === 'red' ? [220, 20, 20] : [20, 20, 220];
  for (let i = 0; i < noise.length; i++) noise[i] = Math.max(0, Math.min(255, base[i % 3]! + noise[i]! - 20));
  return sharp(noise, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}

async function colourOf(body: Buffer): Promise<string> {
  const [r, , b] = (await sharp(body).stats()).channels.map((c) => c.mean);
  return r! > b! ? 'red' : 'blue';
}

/** The fs store, recording what each read handed out; `afterOpen` runs between the open and libvips' read. */
function recording(dir: string, afterOpen?: () => Promise<void>) {
  const fs = new FsSourceStore(dir);
  const handed: string[] = [];
  const store: SourceStore = {
    description: fs.description,
    head: (k) => fs.head(k),
    get: async (k, o) => { handed.push('bytes (get)'); return fs.get(k, o); },
    open: async (k, o) => {
      const opened: SourceObject | SourceFile = await fs.open(k, o);
      handed.push('path' in opened ? 'file' : 'bytes (open)');
      await afterOpen?.();
      return opened;
    },
  };
  return { store, handed, fs };
}

async function get(srv: TestServer, path: string) {
  const res = await rawRequest(srv.url, path);
  assert.equal(res.status, 200, res.body.toString().slice(0, 200));
  return res;
}

describe('sources read by path', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'resizer-by-path-')); });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a large source is decoded from its file, not read into memory; a small one is read whole', async () => {
    await writeFile(join(dir, 'large.jpg'), await image('red'));
    await writeFile(join(dir, 'small.jpg'), await sharp({ create: { width: 64, height: 48, channels: 3, background: 'red' } }).jpeg().toBuffer());
    const { store, handed } = recording(dir);
    const srv = await startTestServer({ source: dir }, { sources: store });
    try {
      const res = await get(srv, '/300x/large.jpg');
      assert.deepEqual(handed, ['file']);
      const meta = await sharp(res.body).metadata();
      assert.deepEqual([meta.width, meta.height, await colourOf(res.body)], [300, 200, 'red']);
      await get(srv, '/32x/small.jpg');
      assert.deepEqual(handed, ['file', 'bytes (open)']);
      // libvips would read `[shrink=8]` as load options of `odd.jpg`, a file that does not exist.
      await writeFile(join(dir, 'odd.jpg[shrink=8]'), await image('blue'));
      const odd = await get(srv, `/300x/${encodeURIComponent('odd.jpg[shrink=8]')}`);
      assert.deepEqual([(await sharp(odd.body).metadata()).width, await colourOf(odd.body)], [300, 'blue']);
      assert.deepEqual(handed, ['file', 'bytes (open)', 'bytes (open)'], 'handed out as bytes, not as a name');
    } finally {
      await srv.close();
    }
  });

  it('a source replaced while libvips reads it is made again from the new file, under the new version', async () => {
    const path = join(dir, 'swap.jpg');
    await writeFile(path, await image('red'));
    const next = await image('blue', true);
    let swapped = false;
    const { store, handed, fs } = recording(dir, async () => {
      // After the version was taken, before libvips opens the file: an uploader's atomic replace.
      if (swapped) return;
      swapped = true;
      await writeFile(`${path}.tmp`, next);
      await rename(`${path}.tmp`, path);
    });
    const logs: string[] = [];
    const logger = { info: (_o: object, m?: string) => { logs.push(m ?? ''); }, warn: () => {}, error: () => {}, debug: () => {}, child: () => logger } as never;
    const srv = await startTestServer({ source: dir }, { sources: store, logger });
    try {
      const res = await get(srv, '/300x/swap.jpg');
      const meta = await sharp(res.body).metadata();
      assert.deepEqual([meta.width, meta.height, await colourOf(res.body)], [300, 450, 'blue'], 'the new picture');
      assert.deepEqual(handed, ['file', 'bytes (get)'], 'read once more, whole');
      assert.ok(logs.includes('source changed while it was read; reading it again'), logs.join('\n'));
      const stored = await new FsDerivativeStore(srv.cacheDir).get('300x/swap.jpg');
      assert.equal(stored?.metadata[SOURCE_ETAG], (await fs.head('swap.jpg'))?.etag, 'labelled with the version it shows');
    } finally {
      await srv.close();
    }
  });
});
