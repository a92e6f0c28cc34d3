import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { pino } from 'pino';
import { DEFAULTS, type Config } from '../../src/config/index.js';
import { render } from '../../src/pipeline/index.js';
import { buildApp, pipelineLimits } from '../../src/runtime.js';
import { FsDerivativeStore, FsSourceStore } from '../../src/storage/fs.js';
import { parseSegment } from '../../src/url/segment.js';
import { FIXTURES } from '../helpers/server.js';

const FIXTURE = 'photos/issue70.jpg';

/** The bytes a miss of `segment` serves, from a fresh app over a fresh cache folder. */
async function miss(segment: string, overrides: Partial<Config>): Promise<{ body: Buffer; cacheControl: string | undefined }> {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-provisional-'));
  try {
    const config: Config = { ...DEFAULTS, logLevel: 'silent', memoryCacheMb: 0, ...overrides };
    const app = await buildApp(config, pino({ level: 'silent' }), { sources: new FsSourceStore(FIXTURES), derivatives: new FsDerivativeStore(dir) });
    const res = await app.handle({ method: 'GET', url: `/${segment}/${FIXTURE}`, headers: {} });
    await app.optimiser?.close();
    assert.equal(res.status, 200);
    return { body: Buffer.from(res.body ?? ''), cacheControl: res.headers['Cache-Control'] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function expected(segment: string, provisional: boolean): Promise<Buffer> {
  const source = await readFile(join(FIXTURES, FIXTURE));
  return (await render(source, parseSegment(segment, DEFAULTS), pipelineLimits(DEFAULTS), undefined, { provisional })).body;
}

describe('the miss of a derivative the background re-encode will replace', () => {
  for (const format of ['jpeg', 'avif'] as const) {
    const segment = `300x200,${format}`;
    it(`${format}: is encoded at the provisional quality (the floor the re-encode keeps), and at the default one when nothing re-encodes`, async () => {
      const [provisional, fast] = [await expected(segment, true), await expected(segment, false)];
      assert.ok(!provisional.equals(fast), 'the provisional and the default encodes differ');
      const idle = await miss(segment, { optimise: 'idle', provisionalCacheControl: 'public, max-age=600' });
      assert.equal(idle.cacheControl, 'public, max-age=600');
      assert.ok(idle.body.equals(provisional), `optimise idle: ${idle.body.length} bytes, provisional encode ${provisional.length}`);
      const off = await miss(segment, { optimise: 'off' });
      assert.ok(off.body.equals(fast), `optimise off: ${off.body.length} bytes, default encode ${fast.length}`);
    });
  }

  it('an explicit qN is encoded at it, provisional or not', async () => {
    const idle = await miss('300x200,jpeg,q70', { optimise: 'idle' });
    const source = await readFile(join(FIXTURES, FIXTURE));
    const q70 = (await render(source, parseSegment('300x200,jpeg,q70', DEFAULTS), pipelineLimits(DEFAULTS))).body;
    assert.ok(idle.body.equals(q70));
  });

  it('a miss made from the mezzanine is encoded at the provisional quality too', async () => {
    const src = await mkdtemp(join(tmpdir(), 'resizer-provisional-src-'));
    const made: Record<string, { body: Buffer; fromMezzanine: number }> = {};
    try {
      // A progressive photo bigger than the mezzanine (256 px here): its second miss makes the mezzanine and is made from it.
      await sharp(join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg')).resize({ width: 1200 }).jpeg({ quality: 90, progressive: true }).toFile(join(src, 'p.jpg'));
      for (const optimise of ['idle', 'off'] as const) {
        const dir = await mkdtemp(join(tmpdir(), 'resizer-provisional-'));
        try {
          const config: Config = { ...DEFAULTS, logLevel: 'silent', memoryCacheMb: 0, mezzanineSize: 256, optimise };
          const app = await buildApp(config, pino({ level: 'silent' }), { sources: new FsSourceStore(src), derivatives: new FsDerivativeStore(dir) });
          await app.handle({ method: 'GET', url: '/64x,jpeg/p.jpg', headers: {} });
          const res = await app.handle({ method: 'GET', url: '/100x,jpeg/p.jpg', headers: {} });
          await app.optimiser?.close();
          assert.equal(res.status, 200);
          made[optimise] = { body: Buffer.from(res.body ?? ''), fromMezzanine: app.stats.fromMezzanine };
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await rm(src, { recursive: true, force: true });
    }
    assert.deepEqual([made.idle?.fromMezzanine, made.off?.fromMezzanine], [1, 1], 'the second size made from the mezzanine');
    assert.ok(made.idle!.body.length > made.off!.body.length, `provisional ${made.idle!.body.length} bytes, default ${made.off!.body.length}`);
  });
});
