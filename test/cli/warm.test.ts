import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import sharp from 'sharp';
import { createProgress } from '../../src/cli/progress.js';
import { warm } from '../../src/cli/warm.js';
import { DEFAULTS } from '../../src/config/index.js';
import { buildApp } from '../../src/runtime.js';
import { FsSourceStore } from '../../src/storage/fs.js';
import { BIN, ROOT, runCli } from '../helpers/process.js';
import { startS3Server, TEST_S3_SETTINGS } from '../helpers/s3-server.js';
import { FIXTURES } from '../helpers/server.js';

/** Four good images (one nested two deep) and the truncated JPEG that libvips refuses. */
const TREE: Record<string, string> = {
  'hopper.jpg': 'orientation/pillow/hopper.jpg',
  'a/b/basn2c08.png': 'png/pngsuite/basn2c08.png',
  'a/1.webp': 'webp/1.webp',
  'cogs.gif': 'anim/cogs.gif',
  'broken/truncated_jpeg.jpg': 'broken/truncated_jpeg.jpg',
};
const GOOD = Object.keys(TREE).filter((k) => !k.startsWith('broken/'));
const SEGMENTS = ['64x64', '32x32,cover,webp'];
/** Terminal control sequences start with it. */
const ESC = '\u001b[';

async function makeTree(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-warm-src-'));
  for (const [key, fixture] of Object.entries(TREE)) {
    await mkdir(dirname(join(dir, key)), { recursive: true });
    await copyFile(join(FIXTURES, fixture), join(dir, key));
  }
  return dir;
}

/** Every file under dir (sidecars left out) with its modification time. */
async function filesWithTimes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    if (e.isFile() && !relative(dir, path).startsWith('.meta')) out.set(relative(dir, path), (await stat(path)).mtimeMs);
  }
  return out;
}

describe('resizer warm', () => {
  let src: string;
  let cache: string;
  before(async () => {
    src = await makeTree();
    cache = await mkdtemp(join(tmpdir(), 'resizer-warm-cache-'));
  });
  after(async () => {
    await rm(src, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it('makes every derivative but the broken file\'s, names it with its reason and exits 1; a rerun makes nothing new', async () => {
    const args = ['warm', '--source', src, '--cache', cache, '--size', '64x64', '--options', '32x32,cover,webp', '--log-level', 'silent'];
    const first = await runCli(args);
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /failed: broken\/truncated_jpeg\.jpg \(64x64\): 422 Image could not be decoded/);
    assert.match(first.stderr, /failed: broken\/truncated_jpeg\.jpg \(32x32,cover,webp\): 422/);
    assert.equal((first.stderr.match(/^failed: /gm) ?? []).length, 2, first.stderr);
    assert.match(first.stdout, /5 source\(s\) x 2 option set\(s\) \[64x64 32x32,cover,webp\]: 8 made, 0 already there, 2 failed/);
    // Not a terminal: plain text, no cursor movement.
    assert.ok(!first.stderr.includes(ESC), 'no escape sequences');

    for (const key of GOOD) {
      // A source already inside 64x64 is stored once, under its size-free key (effective-size dedup, docs/url-api.md).
      const small = await sharp(join(cache, existsSync(join(cache, '64x64', key)) ? '64x64' : 'original', key)).metadata();
      assert.ok(small.width <= 64 && small.height <= 64, `${key} at 64x64`);
      const cover = await sharp(join(cache, '32x32,cover,webp', key)).metadata();
      assert.equal(cover.format, 'webp');
      assert.deepEqual([cover.width, cover.height], [32, 32]);
    }
    const made = await filesWithTimes(cache);
    assert.equal(made.size, GOOD.length * SEGMENTS.length, [...made.keys()].join(' '));
    assert.ok(![...made.keys()].some((k) => k.includes('broken')));

    const second = await runCli(args);
    assert.equal(second.code, 1);
    assert.match(second.stdout, /: 0 made, 8 already there, 2 failed/);
    assert.deepEqual(await filesWithTimes(cache), made, 'no derivative was written again');
  });

  it('--prefix limits the sources; a run with nothing failing exits 0', async () => {
    const other = await mkdtemp(join(tmpdir(), 'resizer-warm-cache-'));
    try {
      const r = await runCli(['warm', '--source', src, '--cache', other, '--size', '20x', '--prefix', 'a/', '--log-level', 'silent']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /2 source\(s\) x 1 option set\(s\) \[20x\]: 2 made/);
      assert.deepEqual([...(await filesWithTimes(other)).keys()].sort(), ['20x/a/1.webp', '20x/a/b/basn2c08.png']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('refuses bad option sets before any work, naming the flag', async () => {
    for (const [args, pattern] of [
      [['--size', '300'], /Invalid --size: expected WxH/],
      [['--options', '300x,covr'], /Invalid --options "300x,covr": .*covr/],
      [['--options', '300x,auto'], /"auto" cannot be warmed/],
      [[], /Nothing to make/],
    ] as const) {
      const r = await runCli(['warm', '--source', src, '--cache', cache, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });

  it('on a terminal shows a live progress bar with done/total, rate, ETA and failures', async () => {
    const other = await mkdtemp(join(tmpdir(), 'resizer-warm-cache-'));
    try {
      // script(1) gives the command a real pseudo-terminal.
      const command = [process.execPath, BIN, 'warm', '--source', src, '--cache', other, '--size', '30x30', '--log-level', 'silent']
        .map((a) => `'${a}'`).join(' ');
      const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
        const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (c: Buffer) => { text += c; });
        child.stderr.on('data', (c: Buffer) => { text += c; });
        child.once('exit', (code) => resolve({ code, text }));
      });
      assert.equal(out.code, 1, out.text);
      assert.ok(out.text.includes(ESC), 'the bar redraws in place');
      assert.match(out.text, /warm [\u2591\u2588]+ 5\/5 \| [\d.]+\/s \| ETA \d+s \| failed 1/);
      assert.match(out.text, /failed: broken\/truncated_jpeg\.jpg \(30x30\)/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('warm through the app', () => {
  it('goes through admission: a 503 is retried after its Retry-After, not counted as a failure', async () => {
    const src = await makeTree();
    await rm(join(src, 'broken'), { recursive: true });
    const cache = await mkdtemp(join(tmpdir(), 'resizer-warm-cache-'));
    try {
      // One transform at a time and no queue: of four requests at once, three are refused with 503.
      const config = { ...DEFAULTS, source: src, cache, concurrency: 1, queueSize: 0, logLevel: 'silent' as const };
      const sources = new FsSourceStore(src);
      const app = await buildApp(config, pino({ level: 'silent' }), { sources });
      const result = await warm(app, sources, { segments: ['40x40'], parallel: 4 });
      assert.deepEqual(result.failed, []);
      assert.equal(result.made, GOOD.length);
      assert.ok(result.retried > 0, 'some requests were refused by admission and retried');
      assert.equal(app.stats.transforms, GOOD.length);
    } finally {
      await rm(src, { recursive: true, force: true });
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('off a terminal prints plain periodic lines with done/total, rate, ETA and failures', async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (c: Buffer) => { text += c; });
    const progress = createProgress(stream, { intervalMs: 0, label: 'warm' });
    progress.update({ done: 3, total: 10, failed: 1 });
    progress.stop();
    assert.match(text, /^warm: 3\/10 done, [\d.]+\/s, ETA \d+s, 1 failed\n$/);
  });

  it('warms an S3 source into an S3 cache (listing across pages is covered by the storage contract)', async () => {
    const s3 = await startS3Server(['warm-src', 'warm-out']);
    const client = s3.client(TEST_S3_SETTINGS);
    try {
      for (const [key, fixture] of Object.entries(TREE)) {
        const { readFile } = await import('node:fs/promises');
        await client.send(new PutObjectCommand({ Bucket: 'warm-src', Key: `originals/${key}`, Body: await readFile(join(FIXTURES, fixture)) }));
      }
      const args = ['warm', '--source', 's3://warm-src/originals', '--cache', 's3://warm-out/resized', '--s3-force-path-style', '--size', '50x', '--log-level', 'silent'];
      const first = await runCli(args, s3.env);
      assert.equal(first.code, 1, first.stderr);
      assert.match(first.stderr, /failed: broken\/truncated_jpeg\.jpg \(50x\): 422/);
      assert.match(first.stdout, /5 source\(s\) x 1 option set\(s\) \[50x\]: 4 made, 0 already there, 1 failed/);
      for (const key of GOOD) {
        // A source already inside the box is stored once under the size-free key (effective-size dedup).
        const stored = async (segment: string) => client.send(new GetObjectCommand({ Bucket: 'warm-out', Key: `resized/${segment}/${key}` })).catch(() => undefined);
        const out = (await stored('50x')) ?? (await stored('original'));
        assert.ok(out, `${key} is stored`);
        const meta = await sharp(Buffer.from(await out.Body!.transformToByteArray())).metadata();
        assert.ok(meta.width <= 50, key);
      }
      const second = await runCli(args, s3.env);
      assert.match(second.stdout, /: 0 made, 4 already there, 1 failed/);
    } finally {
      client.destroy();
      await s3.close();
    }
  });
});
