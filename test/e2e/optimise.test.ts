import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { App } from '../../src/app.js';
import { DEFAULTS, type Config } from '../../src/config/index.js';
import { renderPixels } from '../../src/pipeline/index.js';
import { scorer } from '../../src/quality/ssim.js';
import { buildApp, pipelineLimits } from '../../src/runtime.js';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import type { DerivativeStore, SourceStore } from '../../src/storage/types.js';
import { parseSegment } from '../../src/url/segment.js';
import { FIXTURES } from '../helpers/server.js';
import { startS3World, type S3World } from './s3-world.js';

const FULL = DEFAULTS.cacheControl;
const SHORT = 'public, max-age=600';
const FIXTURE = 'photos/issue70.jpg';
const URL_PATH = `/400x300,webp/${FIXTURE}`;
const KEY = URL_PATH.slice(1);

interface Stores {
  sources: SourceStore;
  derivatives: DerivativeStore;
}

async function appOver(stores: Stores, overrides: Partial<Config> = {}): Promise<App> {
  const config: Config = { ...DEFAULTS, logLevel: 'silent', optimise: 'idle', provisionalCacheControl: SHORT, memoryCacheMb: 0, ...overrides };
  return buildApp(config, pino({ level: 'silent' }), stores);
}

async function get(app: App, url: string) {
  const res = await app.handle({ method: 'GET', url, headers: {} });
  return { ...res, body: Buffer.from(res.body ?? '') };
}

/** Polls the store until the derivative is final (a restarted process finds its work by itself). */
async function finalOf(store: DerivativeStore, key: string, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    // One poll that times out while the machine is busy encoding is not what is under test; the deadline is.
    let state: string;
    try {
      const d = await store.get(key);
      if (d?.metadata.optimise === 'done') return d;
      state = d?.metadata.optimise ?? 'missing';
    } catch (err) {
      state = `unreadable (${String(err)})`;
    }
    if (Date.now() > until) assert.fail(`${key} still ${state} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SSIM of bytes against the lossless render of the same derivative: what the search promised. */
async function ssimOf(body: Buffer): Promise<number> {
  const spec = parseSegment(URL_PATH.split('/')[1]!, DEFAULTS);
  const limits = pipelineLimits(DEFAULTS);
  const pixels = await renderPixels(await readFile(join(FIXTURES, FIXTURE)), spec, limits);
  return (await scorer(pixels.data, pixels.raw))(body);
}

function suite(name: string, open: () => Promise<Stores & { close(): Promise<void> }>) {
  describe(`background re-encode (${name})`, () => {
    let stores: Stores & { close(): Promise<void> };
    before(async () => { stores = await open(); });
    after(async () => { await stores.close(); });

    it('serves a miss as provisional, then replaces it with smaller bytes at the target: new ETag, full Cache-Control', async () => {
      const app = await appOver(stores, { qualityTarget: 0.95 });
      const miss = await get(app, URL_PATH);
      assert.equal(miss.status, 200);
      assert.equal(miss.headers['X-Cache'], 'MISS');
      assert.equal(miss.headers['Cache-Control'], SHORT);
      assert.equal((await stores.derivatives.get(KEY))?.metadata.optimise, 'pending');
      await app.optimiser?.drained();
      const final = await finalOf(stores.derivatives, KEY, 1000);
      assert.ok(final.body.length < miss.body.length, `final ${final.body.length} bytes, provisional ${miss.body.length}`);
      assert.ok(await ssimOf(final.body) >= 0.95, 'the final bytes reach the target');
      assert.equal(final.metadata.ssim !== undefined && Number(final.metadata.ssim) >= 0.95, true);
      assert.equal(app.optimiser?.stats.replaced, 1);
      const hit = await get(app, URL_PATH);
      assert.equal(hit.headers['X-Cache'], 'HIT');
      assert.equal(hit.headers['Cache-Control'], FULL);
      assert.notEqual(hit.headers.ETag, miss.headers.ETag);
      assert.ok(hit.body.equals(final.body));
      assert.ok(Date.parse(hit.headers['Last-Modified'] ?? '') >= Date.parse(miss.headers['Last-Modified'] ?? ''));
      assert.equal(hit.headers['Content-Type'], 'image/webp');
      const markers: string[] = [];
      for await (const k of stores.derivatives.listKeys('_/optimise/')) markers.push(k);
      assert.deepEqual(markers, [], 'no pending work left');
      await app.optimiser?.close();
    });

    it('never replaces provisional bytes with larger ones: they are kept and made final', async () => {
      // No quality in range reaches this SSIM at fewer bytes than the fast encode.
      const app = await appOver(stores, { qualityTarget: 0.9999 });
      const path = `/300x200,jpeg/${FIXTURE}`;
      const miss = await get(app, path);
      assert.equal(miss.headers['Cache-Control'], SHORT);
      await app.optimiser?.drained();
      const final = await finalOf(stores.derivatives, path.slice(1), 1000);
      assert.ok(final.body.equals(miss.body), 'the same bytes');
      assert.equal(app.optimiser?.stats.kept, 1);
      const hit = await get(app, path);
      assert.equal(hit.headers.ETag, miss.headers.ETag);
      assert.equal(hit.headers['Last-Modified'], miss.headers['Last-Modified']);
      assert.equal(hit.headers['Cache-Control'], FULL);
      await app.optimiser?.close();
    });

    it('resumes after a restart: pending work is found in the store', async () => {
      const first = await appOver(stores, { qualityTarget: 0.95 });
      const path = `/200x200,cover,avif/${FIXTURE}`;
      const miss = await get(first, path);
      // Stopped before its quiet period ends: the process "dies" with the work pending.
      await first.optimiser?.close();
      assert.equal((await stores.derivatives.get(path.slice(1)))?.metadata.optimise, 'pending');
      const second = await appOver(stores, { qualityTarget: 0.95 });
      const final = await finalOf(stores.derivatives, path.slice(1));
      assert.ok(final.body.length < miss.body.length, `final ${final.body.length} bytes, provisional ${miss.body.length}`);
      assert.equal((await get(second, path)).headers['Cache-Control'], FULL);
      await second.optimiser?.close();
    });

    it('leaves an explicit qN alone: final at once, with the full Cache-Control', async () => {
      const app = await appOver(stores);
      const res = await get(app, `/400x300,webp,q70/${FIXTURE}`);
      assert.equal(res.headers['Cache-Control'], FULL);
      const stored = await stores.derivatives.get(`400x300,webp,q70/${FIXTURE}`);
      assert.equal(stored?.metadata.optimise, undefined);
      await app.optimiser?.close();
    });
  });
}

suite('fs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-optimise-'));
  return { sources: new FsSourceStore(FIXTURES), derivatives: new FsDerivativeStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
});

suite('s3', async () => {
  const world: S3World = await startS3World();
  await world.upload(FIXTURE, FIXTURE);
  return { sources: world.sources, derivatives: world.derivatives, close: () => world.close() };
});
