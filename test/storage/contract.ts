import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { contentEtag } from '../../src/storage/content-hash.js';
import { ResizerError } from '../../src/errors/index.js';
import type { DerivativeStore, SourceStore } from '../../src/storage/types.js';

/** What one implementation provides to the shared suite. */
export interface StoreFixture {
  sources: SourceStore;
  derivatives: DerivativeStore;
  /** Places (or replaces) a source object by the store's own means (a file, a PutObject). */
  putSource(key: string, body: Buffer, contentType?: string): Promise<void>;
  close(): Promise<void>;
}

export interface ContractOptions {
  /**
   * The emulator writes objects in place, so a read racing a write may catch it half written (a short file, or
   * a body that stops before its Content-Length); the store must then answer "missing" or fail with a typed
   * 502/504, never return partial bytes. Real S3 and the fs store never show a torn object at all.
   */
  tornReadsPossible?: boolean;
  /** The store has no listing (an HTTP origin): warm-up and the playground cannot walk it. */
  cannotList?: boolean;
}

const LARGE = 6 * 1024 * 1024;
const ODD_KEY = 'dir with spaces/ünïcødé 写真 +&=@ (1).jpg';

async function rejectsWithStatus(p: Promise<unknown>, status: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ResizerError, `expected a ResizerError, got ${String(err)}`);
    assert.equal(err.status, status);
    return true;
  });
}

export function storeContract(name: string, open: () => Promise<StoreFixture>, options: ContractOptions = {}): void {
  describe(`${name} storage contract`, () => {
    let f: StoreFixture;
    before(async () => { f = await open(); });
    after(async () => { await f.close(); });

    describe('sources', () => {
      it('a missing key is NotFound on get and null on head', async () => {
        await rejectsWithStatus(f.sources.get('no/such/image.jpg', { maxBytes: 1000 }), 404);
        assert.equal(await f.sources.head('no/such/image.jpg'), null);
      });

      it('reads nested keys byte for byte, head agreeing with get', async () => {
        const body = randomBytes(1234);
        await f.putSource('a/b/c/nested.jpg', body, 'image/jpeg');
        const got = await f.sources.get('a/b/c/nested.jpg', { maxBytes: 10_000 });
        assert.deepEqual(got.body, body);
        assert.equal(got.size, body.length);
        const info = await f.sources.head('a/b/c/nested.jpg');
        assert.ok(info);
        assert.equal(info.size, body.length);
        assert.equal(info.etag, got.etag);
        assert.match(info.etag, /^".+"$/);
        assert.ok(info.lastModified instanceof Date && !Number.isNaN(info.lastModified.getTime()));
      });

      it('reads keys with spaces, unicode and URL-special characters', async () => {
        const body = randomBytes(500);
        await f.putSource(ODD_KEY, body);
        assert.deepEqual((await f.sources.get(ODD_KEY, { maxBytes: 1000 })).body, body);
        assert.equal((await f.sources.head(ODD_KEY))?.size, 500);
      });

      it('reads a large object whole', async () => {
        const body = randomBytes(LARGE);
        await f.putSource('big/large.bin', body);
        const got = await f.sources.get('big/large.bin', { maxBytes: LARGE });
        assert.equal(got.body.length, LARGE);
        assert.ok(got.body.equals(body));
      });

      it('refuses a source over maxBytes with 413', async () => {
        await f.putSource('big/over.bin', randomBytes(4096));
        await rejectsWithStatus(f.sources.get('big/over.bin', { maxBytes: 4095 }), 413);
        assert.equal((await f.sources.get('big/over.bin', { maxBytes: 4096 })).body.length, 4096);
      });

      it('lists recursively in key order, streamed page by page, with prefix and after', { skip: options.cannotList ? 'this store cannot list' : false }, async () => {
        // Names chosen so that folder-by-folder order and key order differ ("a-b" sorts before "a/").
        const keys = ['listing/a-b.jpg', 'listing/a/x.png', 'listing/a/y/z.gif', 'listing/b.webp', `listing/${ODD_KEY}`, 'listing/é.jpg'];
        for (const [i, key] of keys.entries()) await f.putSource(key, randomBytes(100 + i));
        const expectedOrder = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        const list = f.sources.list?.bind(f.sources);
        assert.ok(list, 'the store lists its sources');
        const collect = async (options: Parameters<typeof list>[0]) => {
          const out = [];
          for await (const entry of list(options)) out.push(entry);
          return out;
        };
        // A page size of 2 makes a paging store follow its continuation tokens across three pages.
        const all = await collect({ prefix: 'listing/', pageSize: 2 });
        assert.deepEqual(all.map((e) => e.key), expectedOrder);
        for (const e of all) {
          assert.equal(e.size, 100 + keys.indexOf(e.key));
          assert.ok(e.lastModified instanceof Date && !Number.isNaN(e.lastModified.getTime()));
        }
        assert.deepEqual((await collect({ prefix: 'listing/a' })).map((e) => e.key), expectedOrder.filter((k) => k.startsWith('listing/a')));
        assert.deepEqual((await collect({ prefix: 'listing/', after: 'listing/a/x.png', pageSize: 2 })).map((e) => e.key), expectedOrder.slice(expectedOrder.indexOf('listing/a/x.png') + 1));
        assert.deepEqual(await collect({ prefix: 'no-such-prefix/' }), []);
        // Without a prefix the whole store is listed, other tests' sources included.
        const everything = (await collect({})).map((e) => e.key);
        for (const k of [...keys, 'a/b/c/nested.jpg']) assert.ok(everything.includes(k), `${k} missing from the full listing`);
      });

      it('refuses keys that could leave the store', async () => {
        await rejectsWithStatus(f.sources.get('../etc/passwd', { maxBytes: 100 }), 400);
        await rejectsWithStatus(f.derivatives.get('w1/../../x'), 400);
      });
    });

    describe('derivatives', () => {
      it('a missing derivative is null', async () => {
        assert.equal(await f.derivatives.get('w100/none/here.jpg'), null);
      });

      it('stores bytes, content type and metadata at a nested, unicode key', async () => {
        const body = randomBytes(2000);
        const key = `w100,webp/${ODD_KEY}`;
        const before = Date.now();
        await f.derivatives.put(key, body, { contentType: 'image/webp', cacheControl: 'public, max-age=60', metadata: { 'source-etag': '"abc-123"' } });
        const got = await f.derivatives.get(key);
        assert.ok(got);
        assert.ok(got.body.equals(body));
        assert.equal(got.contentType, 'image/webp');
        assert.deepEqual(got.metadata, { 'source-etag': '"abc-123"' });
        assert.equal(got.etag, contentEtag(body));
        // Stores keep whole seconds (S3's Last-Modified).
        assert.ok(got.lastModified.getTime() >= Math.floor(before / 1000) * 1000 - 1000);
      });

      it('stores a large derivative whole', async () => {
        const body = randomBytes(5 * 1024 * 1024);
        await f.derivatives.put('w4000/big.png', body, { contentType: 'image/png' });
        const got = await f.derivatives.get('w4000/big.png');
        assert.ok(got?.body.equals(body));
        assert.equal(got?.contentType, 'image/png');
      });

      it('replaces atomically: every read sees the old bytes or the new, never a mix', async () => {
        const a = Buffer.alloc(1024 * 1024, 0xaa);
        const b = Buffer.alloc(1024 * 1024 + 7, 0xbb);
        await f.derivatives.put('w1/atomic.jpg', a, { contentType: 'image/jpeg' });
        let torn = 0;
        let compared = 0;
        const reads: Promise<void>[] = [];
        for (let i = 0; i < 6; i++) {
          await f.derivatives.put('w1/atomic.jpg', i % 2 ? a : b, { contentType: 'image/jpeg' });
          reads.push(f.derivatives.get('w1/atomic.jpg').then((got) => {
            if (got === null) { torn++; return; }
            assert.ok(got.body.equals(a) || got.body.equals(b), `a read returned ${got.body.length} mixed bytes`);
            compared++;
          }, (err: unknown) => {
            assert.ok(err instanceof ResizerError && (err.status === 502 || err.status === 504), `untyped failure ${String(err)}`);
            torn++;
          }));
        }
        await Promise.all(reads);
        if (!options.tornReadsPossible) assert.equal(torn, 0);
        // Where a store may answer "missing" mid-write, some reads must still have come back whole to compare.
        assert.ok(compared > 0, 'no read returned bytes to compare');
        const last = await f.derivatives.get('w1/atomic.jpg');
        assert.ok(last?.body.equals(a));
      });

      it('lists the segments, including ones that hold only nested keys', async () => {
        await f.derivatives.put('seg-a/one.jpg', Buffer.from('1'), { contentType: 'image/jpeg' });
        await f.derivatives.put('seg-b/deep/er/two.jpg', Buffer.from('2'), { contentType: 'image/jpeg' });
        await f.derivatives.put(`seg c,webp/${ODD_KEY}`, Buffer.from('3'), { contentType: 'image/webp' });
        const segments = new Set<string>();
        for await (const s of f.derivatives.listSegments()) segments.add(s);
        for (const s of ['seg-a', 'seg-b', 'seg c,webp']) assert.ok(segments.has(s), `missing segment ${s} in ${[...segments].join(' | ')}`);
        assert.ok(![...segments].some((s) => s.includes('/')), 'a segment must be one path component');
      });

      it('deletes one derivative; deleting a missing one is fine', async () => {
        await f.derivatives.put('del-1/x y.jpg', Buffer.from('1'), { contentType: 'image/jpeg' });
        await f.derivatives.put('del-2/x y.jpg', Buffer.from('2'), { contentType: 'image/jpeg' });
        await f.derivatives.delete('del-1/x y.jpg');
        assert.equal(await f.derivatives.get('del-1/x y.jpg'), null);
        assert.equal((await f.derivatives.get('del-2/x y.jpg'))?.body.toString(), '2');
        await f.derivatives.delete('del-1/x y.jpg');
        await f.derivatives.delete('never/was.jpg');
      });
    });
  });
}
