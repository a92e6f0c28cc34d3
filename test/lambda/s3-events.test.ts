import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import sharp from 'sharp';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createS3EventHandler, eventKey, s3EventHandlerFromEnv } from '../../src/lambda/s3-events.js';
import { buildApp } from '../../src/runtime.js';
import { openDerivativeStore, openSourceStore, s3SettingsOf } from '../../src/storage/open.js';
import type { DerivativeStore, SourceStore } from '../../src/storage/types.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { FIXTURES } from '../helpers/server.js';

const SOURCES = 'img-sources';
const DERIVATIVES = 'img-resized';
const silent = { info() {}, warn() {}, error() {} };

let s3: S3TestServer;
let direct: S3Client;
let app: App;
let env: Record<string, string>;
let derivatives: DerivativeStore;
let derivativeObjects: SourceStore;

/** AWS's documented S3 notification (test/lambda/events), for this bucket, key (as S3 encodes it) and event. */
async function s3Event(file: 's3-put' | 's3-delete', encodedKey: string): Promise<S3Event> {
  const event = JSON.parse(await readFile(new URL(`./events/${file}.json`, import.meta.url), 'utf8')) as S3Event;
  const record = event.Records[0]!;
  record.s3.bucket.name = SOURCES;
  record.s3.bucket.arn = `arn:aws:s3:::${SOURCES}`;
  record.s3.object.key = encodedKey;
  return event;
}

async function derivativeKeys(): Promise<string[]> {
  const out = await direct.send(new ListObjectsV2Command({ Bucket: DERIVATIVES }));
  // `_/optimise/…` are pending re-encodes, the store's bookkeeping rather than derivatives.
  return (out.Contents ?? []).map((o) => o.Key!).filter((k) => !k.startsWith('_/')).sort();
}

async function upload(key: string): Promise<void> {
  await direct.send(new PutObjectCommand({ Bucket: SOURCES, Key: key, Body: await readFile(join(FIXTURES, 'photos/issue70.jpg')) }));
}

async function make(segment: string, key: string): Promise<void> {
  const out = await app.handle({ method: 'GET', url: `/${segment}/${key.split('/').map(encodeURIComponent).join('/')}`, headers: {} });
  assert.equal(out.status, 200, `${segment}/${key}`);
}

/** A source and its derivatives in the given segments. */
async function sourceWith(key: string, segments: string[]): Promise<void> {
  await upload(key);
  for (const segment of segments) await make(segment, key);
}

before(async () => {
  s3 = await startS3Server([SOURCES, DERIVATIVES]);
  direct = s3.client();
  Object.assign(process.env, s3.env);
  env = { ...s3.env, RESIZER_SOURCE: `s3://${SOURCES}`, RESIZER_CACHE: `s3://${DERIVATIVES}`, RESIZER_S3_FORCE_PATH_STYLE: 'true', RESIZER_LOG_LEVEL: 'silent' };
  const config = loadConfig({}, env);
  derivatives = (await openDerivativeStore(config.cache, s3SettingsOf(config)))!;
  derivativeObjects = await openSourceStore(config.cache, s3SettingsOf(config));
  app = await buildApp(config, silent, { derivatives });
});
after(async () => {
  direct?.destroy();
  await s3?.close();
});

describe('S3 events', () => {
  it('decodes keys the way S3 encodes them: + for a space, %2B for a plus', async () => {
    const event = await s3Event('s3-put', '2024/a+b%2Bc+%C3%BC.jpg');
    assert.equal(eventKey(event.Records[0]!), '2024/a b+c ü.jpg');
  });

  it('an overwritten source loses exactly its own derivatives', async () => {
    const keys = ['2024/a b+c.jpg', '2024/a b+c.jpg.bak', '2024/a b', 'other.jpg'];
    for (const key of keys) await upload(key);
    for (const segment of ['100x', '50x50,cover', '80x,webp']) for (const key of keys) await make(segment, key);
    const before = await derivativeKeys();
    assert.equal(before.length, 12);

    const handle = createS3EventHandler({ app, source: { bucket: SOURCES, prefix: '' }, logger: silent });
    const [outcome] = await handle(await s3Event('s3-put', '2024/a+b%2Bc.jpg'));
    assert.equal(outcome?.sourceKey, '2024/a b+c.jpg');
    const gone = ['100x/2024/a b+c.jpg', '50x50,cover/2024/a b+c.jpg', '80x,webp/2024/a b+c.jpg'];
    assert.deepEqual(await derivativeKeys(), before.filter((k) => !gone.includes(k)));
  });

  it('a deleted source loses its derivatives, and their CDN copies are invalidated', async () => {
    await sourceWith('gone soon.jpg', ['100x', '40x40,cover']);
    await withCloudFront(50, async (handle, cloudfront) => {
      const [outcome] = await handle(await s3Event('s3-delete', 'gone+soon.jpg'));
      assert.equal(await derivativeKeys().then((ks) => ks.some((k) => k.endsWith('/gone soon.jpg'))), false);
      assert.equal(cloudfront.requests.length, 1);
      const request = cloudfront.requests[0]!;
      assert.equal(request.url, '/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation');
      const paths = [...request.body.matchAll(/<Path>([^<]*)<\/Path>/g)].map((m) => m[1]);
      // Only the derivatives that existed, though the purge deleted the key in every segment of the bucket;
      // spelled as the viewer-request function spells them: the segment literal, the key encoded.
      assert.ok(outcome!.purged.length > 2, outcome!.purged.join(' '));
      assert.deepEqual(paths.sort(), ['/100x/gone%20soon.jpg', '/40x40,cover/gone%20soon.jpg']);
      assert.deepEqual(outcome!.invalidated.sort(), paths);
      assert.match(request.body, /<CallerReference>img-sources\/gone\+soon\.jpg\/0C0F6F405D6ED209E1<\/CallerReference>/);
    });
  });

  it('past maxPaths, the whole distribution is invalidated with one path', async () => {
    await sourceWith('many.jpg', ['100x', '50x']);
    await withCloudFront(1, async (handle, cloudfront) => {
      const [outcome] = await handle(await s3Event('s3-put', 'many.jpg'));
      assert.deepEqual(outcome?.invalidated, ['/*']);
      assert.match(cloudfront.requests[0]!.body, /<Quantity>1<\/Quantity><Items><Path>\/\*<\/Path><\/Items>/);
    });
  });

  it('a new source, with no derivatives yet, invalidates nothing', async () => {
    await upload('brand new.jpg');
    await withCloudFront(50, async (handle, cloudfront) => {
      const [outcome] = await handle(await s3Event('s3-put', 'brand+new.jpg'));
      assert.deepEqual(outcome?.invalidated, []);
      assert.equal(cloudfront.requests.length, 0);
    });
  });

  it('a created source has its configured sizes made at once (from the environment, as on Lambda)', async () => {
    await upload('new/fresh one.jpg');
    const handle = await s3EventHandlerFromEnv({ ...env, RESIZER_PREGENERATE: '64x  32x32,cover,webp' });
    const [outcome] = await handle(await s3Event('s3-put', 'new/fresh+one.jpg'));
    assert.deepEqual(outcome?.generated, { '64x': 200, '32x32,cover,webp': 200 });
    const keys = await derivativeKeys();
    assert.ok(keys.includes('64x/new/fresh one.jpg') && keys.includes('32x32,cover,webp/new/fresh one.jpg'), keys.join('\n'));
    const out = await app.handle({ method: 'GET', url: '/32x32,cover,webp/new/fresh%20one.jpg', headers: {} });
    assert.equal(out.headers['X-Cache'], 'HIT');
    const meta = await sharp(out.body as Buffer).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 32, 32]);
  });

  it('a replaced source loses its mezzanine: no size is made from its old pixels afterwards', async () => {
    // Flat colours, progressive, larger than the default mezzanine (2048 px): a derivative's colour tells which source made it.
    const flat = (b: number) => sharp({ create: { width: 2400, height: 1600, channels: 3, background: { r: 220 - b, g: 20, b } } }).jpeg({ progressive: true }).toBuffer();
    const colour = async (body: Buffer) => ((await sharp(body).stats()).channels[0]!.mean > 128 ? 'red' : 'blue');
    await direct.send(new PutObjectCommand({ Bucket: SOURCES, Key: 'swap/c.jpg', Body: await flat(0) }));
    const made = app.stats.mezzanines;
    await make('100x', 'swap/c.jpg');
    await make('90x', 'swap/c.jpg');
    assert.equal(app.stats.mezzanines, made + 1);
    assert.ok(await derivatives.get('_/mezzanine/swap/c.jpg'), 'the mezzanine is in the bucket');

    await direct.send(new PutObjectCommand({ Bucket: SOURCES, Key: 'swap/c.jpg', Body: await flat(200) }));
    const handle = createS3EventHandler({ app, source: { bucket: SOURCES, prefix: '' }, logger: silent });
    const [outcome] = await handle(await s3Event('s3-put', 'swap/c.jpg'));
    assert.ok(outcome?.purged.includes('_/mezzanine/swap/c.jpg'));
    assert.equal(await derivatives.get('_/mezzanine/swap/c.jpg'), null);
    // A size never made before, and one made before: both from the new source.
    for (const segment of ['80x', '100x']) {
      const out = await app.handle({ method: 'GET', url: `/${segment}/swap/c.jpg`, headers: {} });
      assert.equal(out.status, 200);
      assert.equal(await colour(out.body as Buffer), 'blue', segment);
    }
    assert.equal(app.stats.mezzanines, made + 2);
  });

  it('refuses events it cannot act on rather than ignoring them', async () => {
    const handle = createS3EventHandler({ app, source: { bucket: SOURCES, prefix: 'src/' }, logger: silent });
    await assert.rejects(handle(await s3Event('s3-put', 'elsewhere.jpg')), /outside the source prefix src\//);
    const wrongBucket = await s3Event('s3-put', 'src/x.jpg');
    wrongBucket.Records[0]!.s3.bucket.name = 'someone-else';
    await assert.rejects(handle(wrongBucket), /bucket someone-else/);
    const restore = await s3Event('s3-put', 'src/x.jpg');
    restore.Records[0]!.eventName = 'ObjectRestore:Completed';
    await assert.rejects(handle(restore), /only ObjectCreated and ObjectRemoved/);
    await assert.rejects(s3EventHandlerFromEnv({ ...env, RESIZER_PREGENERATE: '0x10' }), /Invalid RESIZER_PREGENERATE: Expected a width/);
  });
});

type Recorder = Awaited<ReturnType<typeof startCloudFrontRecorder>>;

/** The S3-event handler with invalidations going to a recorder, for one test. */
async function withCloudFront(maxPaths: number, test: (handle: ReturnType<typeof createS3EventHandler>, cloudfront: Recorder) => Promise<void>): Promise<void> {
  const cloudfront = await startCloudFrontRecorder();
  try {
    await test(createS3EventHandler({
      app, source: { bucket: SOURCES, prefix: '' }, logger: silent,
      cloudfront: { client: cloudfront.client, distributionId: 'E2QWRUHAPOMQZL', maxPaths, derivatives, derivativeObjects },
    }), cloudfront);
  } finally {
    await cloudfront.close();
  }
}

/**
 * CloudFront has no emulator: the real SDK client is pointed at a local server that records each request and
 * answers as CreateInvalidation does (201 and the Invalidation document).
 */
async function startCloudFrontRecorder(): Promise<{ client: CloudFrontClient; requests: Array<{ url: string; body: string }>; close(): Promise<void> }> {
  const requests: Array<{ url: string; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      requests.push({ url: req.url ?? '', body });
      res.writeHead(201, { 'Content-Type': 'text/xml', Location: `https://cloudfront.amazonaws.com${req.url}/I2J0I21PCUKOUB` });
      res.end('<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUKOUB</Id>'
        + '<Status>InProgress</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime></Invalidation>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new CloudFrontClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  });
  return {
    client, requests,
    async close() {
      client.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
