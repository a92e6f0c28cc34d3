import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import sharp from 'sharp';
import type { S3EventOutcome } from '../../src/lambda/s3-events.js';
import { startS3Server } from '../helpers/s3-server.js';
import { buildLambdaAsset, type Arch } from '../../scripts/build-lambda.js';
import { FIXTURES } from '../helpers/server.js';
import { httpEvent } from './lambda-events.js';

/**
 * The built bundle as Lambda runs it: its folder read-only, only a temp folder writable. As root (CI containers)
 * the child runs as `nobody`, since root ignores file modes; otherwise the modes alone hold.
 */
const NOBODY = 65534;
let root: string;
let task: string;
let writable: string;

function readOnly(path: string): void {
  for (const name of readdirSync(path)) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) readOnly(p);
    else chmodSync(p, 0o444);
  }
  chmodSync(path, 0o555);
}

before(async () => {
  root = mkdtempSync('/tmp/resizer-bundle-');
  chmodSync(root, 0o755);
  task = join(root, 'task');
  await buildLambdaAsset({ arch: process.arch as Arch, outDir: task });
  const images = join(root, 'images');
  mkdirSync(images);
  copyFileSync(join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg'), join(images, 'kleiber.jpg'));
  copyFileSync(join(FIXTURES, 'svg/logo.svg'), join(images, 'logo.svg'));
  copyFileSync(join(FIXTURES, 'photos/seeding_by_Clements_Engelhardt.jpg'), join(images, 'seeding.jpg'));
  readOnly(task);
  readOnly(images);
  writable = join(root, 'writable');
  mkdirSync(writable, { mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(writable, NOBODY, NOBODY);
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

// Runs in the child: loads the bundle's handler, answers the events, and checks it really cannot write to its folder.
const RUNNER = `
import { writeFileSync } from 'node:fs';
const { handler } = await import(process.cwd() + '/' + process.env.ENTRY);
let ownFolderWritable = true;
try { writeFileSync(process.cwd() + '/probe', 'x'); } catch { ownFolderWritable = false; }
const results = [];
for (const event of JSON.parse(process.env.EVENTS)) results.push(await handler(event, {}));
process.stdout.write(JSON.stringify({ ownFolderWritable, results }));
`;

interface Output<R> { ownFolderWritable: boolean; results: R[] }
interface HttpOut { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean }

function runBundle<R = HttpOut>(events: unknown[], entry = 'handler.js', env: Record<string, string> = {}): Promise<Output<R>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', RUNNER], {
      cwd: task,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: '/nonexistent',
        TMPDIR: writable,
        EVENTS: JSON.stringify(events),
        ENTRY: entry,
        RESIZER_SOURCE: join(root, 'images'),
        RESIZER_CACHE: join(writable, 'derivatives'),
        RESIZER_PUBLIC_BASE: 'https://d111111abcdef8.cloudfront.net',
        RESIZER_LOG_LEVEL: 'silent',
        ...env,
      },
      ...(process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bundle exited ${code}: ${err}`));
      resolve(JSON.parse(out) as Output<R>);
    });
  });
}

describe('the single-file Lambda bundle', () => {
  it('runs from a read-only folder: sharp from its own node_modules, the SVG worker beside it, writes only to the temp dir', async () => {
    const { ownFolderWritable, results } = await runBundle([
      httpEvent('function-url', { rawPath: '/160x/kleiber.jpg' }),
      httpEvent('function-url', { rawPath: '/96x/logo.svg' }),
      httpEvent('function-url', { rawPath: '/96x/logo.svg' }),
      // A progressive photo: its first miss leaves a mezzanine (issue 14), the second size is made from it.
      httpEvent('function-url', { rawPath: '/200x/seeding.jpg' }),
      httpEvent('function-url', { rawPath: '/120x80,cover,webp/seeding.jpg' }),
    ]);
    assert.equal(ownFolderWritable, false, 'the test must run the bundle from a folder it cannot write');
    const [jpeg, svg, again, first, second] = results;
    assert.deepEqual([first?.statusCode, second?.statusCode], [200, 200]);
    const secondMeta = await sharp(Buffer.from(second!.body, 'base64')).metadata();
    assert.deepEqual([secondMeta.format, secondMeta.width, secondMeta.height], ['webp', 120, 80]);
    assert.deepEqual([jpeg?.statusCode, svg?.statusCode, again?.statusCode], [200, 200, 200], JSON.stringify(results.map((r) => r.body.slice(0, 200))));
    const jpegMeta = await sharp(Buffer.from(jpeg!.body, 'base64')).metadata();
    assert.deepEqual([jpegMeta.format, jpegMeta.width], ['jpeg', 160]);
    // The SVG is rasterised in the worker process, found through import.meta.url inside the bundle.
    const svgMeta = await sharp(Buffer.from(svg!.body, 'base64')).metadata();
    assert.equal(svgMeta.width, 96);
    assert.equal(svg?.headers['X-Cache'], 'MISS');
    assert.equal(again?.headers['X-Cache'], 'HIT');
    assert.deepEqual(readdirSync(join(writable, 'derivatives')).filter((n) => !n.startsWith('.')).sort(), ['120x80,cover,webp', '160x', '200x', '96x', '_']);
    assert.deepEqual(readdirSync(join(writable, 'derivatives', '_', 'mezzanine')), ['seeding.jpg']);
    assert.ok(!readdirSync(task).includes('probe'));
  });

  it('s3-events.js purges and pre-generates against S3, from the same read-only folder', async () => {
    const s3 = await startS3Server(['img-sources', 'img-resized']);
    const direct = s3.client();
    try {
      await direct.send(new PutObjectCommand({ Bucket: 'img-sources', Key: 'a b.jpg', Body: await readFile(join(FIXTURES, 'photos/issue70.jpg')) }));
      await direct.send(new PutObjectCommand({ Bucket: 'img-resized', Key: '10x/a b.jpg', Body: 'stale' }));
      const event = JSON.parse(await readFile(new URL('./events/s3-put.json', import.meta.url), 'utf8')) as S3Event;
      event.Records[0]!.s3.bucket.name = 'img-sources';
      event.Records[0]!.s3.object.key = 'a+b.jpg';
      const { ownFolderWritable, results } = await runBundle<S3EventOutcome[]>([event], 's3-events.js', {
        ...s3.env,
        RESIZER_SOURCE: 's3://img-sources', RESIZER_CACHE: 's3://img-resized', RESIZER_S3_FORCE_PATH_STYLE: 'true', RESIZER_PREGENERATE: '48x',
      });
      assert.equal(ownFolderWritable, false);
      const [outcome] = results[0]!;
      assert.deepEqual([outcome?.sourceKey, outcome?.purged.includes('10x/a b.jpg'), outcome?.generated], ['a b.jpg', true, { '48x': 200 }]);
      const listed = await direct.send(new ListObjectsV2Command({ Bucket: 'img-resized' }));
      assert.deepEqual((listed.Contents ?? []).map((o) => o.Key), ['48x/a b.jpg']);
      const made = await direct.send(new GetObjectCommand({ Bucket: 'img-resized', Key: '48x/a b.jpg' }));
      assert.equal((await sharp(Buffer.from(await made.Body!.transformToByteArray())).metadata()).width, 48);
    } finally {
      direct.destroy();
      await s3.close();
    }
  });
});
