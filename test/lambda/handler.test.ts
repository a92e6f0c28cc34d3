import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { buildLambdaApps, lambdaConfig } from '../../src/lambda/apps.js';
import { LAMBDA_RESPONSE_LIMIT, type HttpResult } from '../../src/lambda/events.js';
import { createHandler } from '../../src/lambda/adapter.js';
import { startS3Server, type S3TestServer } from '../helpers/s3-server.js';
import { FIXTURES } from '../helpers/server.js';
import { httpEvent, SHAPES } from './lambda-events.js';

const SOURCES = 'img-sources';
const DERIVATIVES = 'img-resized';
const PUBLIC_BASE = 'https://d111111abcdef8.cloudfront.net';

let s3: S3TestServer;
let direct: S3Client;
let handler: ReturnType<typeof createHandler>;

async function upload(key: string, body: Buffer): Promise<void> {
  await direct.send(new PutObjectCommand({ Bucket: SOURCES, Key: key, Body: body }));
}

async function derivative(key: string): Promise<Buffer | null> {
  try {
    await direct.send(new HeadObjectCommand({ Bucket: DERIVATIVES, Key: key }));
  } catch {
    return null;
  }
  const out = await direct.send(new GetObjectCommand({ Bucket: DERIVATIVES, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

function body(r: HttpResult): Buffer {
  assert.equal(r.isBase64Encoded, true, 'an image must come base64-encoded');
  return Buffer.from(r.body ?? '', 'base64');
}

before(async () => {
  s3 = await startS3Server([SOURCES, DERIVATIVES]);
  direct = s3.client();
  // The SDK's default chain, as on Lambda: only the endpoint differs.
  Object.assign(process.env, s3.env);
  const config = lambdaConfig({
    ...s3.env,
    RESIZER_SOURCE: `s3://${SOURCES}`,
    RESIZER_CACHE: `s3://${DERIVATIVES}`,
    RESIZER_PUBLIC_BASE: PUBLIC_BASE,
    RESIZER_S3_FORCE_PATH_STYLE: 'true',
    // No hot set: every hit below comes from the derivative bucket, as in a fresh container.
    RESIZER_MEMORY_CACHE_MB: '0',
    RESIZER_LOG_LEVEL: 'silent',
  });
  handler = createHandler(await buildLambdaApps(config));
  const photo = await readFile(join(FIXTURES, 'photos/Kleiber_by_Lukas_Baubkus.jpg'));
  await upload('kleiber.jpg', photo);
  await upload('dir/a b ü.jpg', photo);
});
after(async () => {
  direct?.destroy();
  await s3?.close();
});

describe('Lambda handler over the S3 emulator', () => {
  for (const shape of SHAPES) {
    it(`${shape}: a miss is made and stored, then the same URL is a hit`, async () => {
      // A size per shape, so that each shape's first request is a miss.
      const segment = { 'function-url': '300x200', 'http-api-v2': '301x200', 'rest-api-v1': '302x200' }[shape];
      const rawPath = `/${segment}/kleiber.jpg`;
      const miss = await handler(httpEvent(shape, { rawPath }));
      assert.equal(miss.statusCode, 200);
      assert.equal(miss.headers?.['X-Cache'], 'MISS');
      assert.equal(miss.headers?.['Content-Type'], 'image/jpeg');
      const bytes = body(miss);
      assert.equal(miss.headers?.['Content-Length'], String(bytes.length));
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.ok(meta.width <= Number(segment.split('x')[0]) && meta.height <= 200 && (meta.width === Number(segment.split('x')[0]) || meta.height === 200), `${meta.width}x${meta.height}`);
      const stored = await derivative(`${segment}/kleiber.jpg`);
      assert.ok(stored?.equals(bytes), 'the derivative bucket holds the bytes answered');

      const hit = await handler(httpEvent(shape, { rawPath }));
      assert.equal(hit.statusCode, 200);
      assert.equal(hit.headers?.['X-Cache'], 'HIT');
      assert.ok(body(hit).equals(bytes));
    });
  }

  it('answers 304 to If-None-Match with the ETag, without a body', async () => {
    const first = await handler(httpEvent('function-url', { rawPath: '/120x/kleiber.jpg' }));
    const etag = first.headers?.ETag;
    assert.ok(typeof etag === 'string' && etag.length > 2);
    assert.equal((await sharp(body(first)).metadata()).width, 120);
    const again = await handler(httpEvent('http-api-v2', { rawPath: '/120x/kleiber.jpg', headers: { 'If-None-Match': String(etag) } }));
    assert.equal(again.statusCode, 304);
    assert.equal(again.headers?.ETag, etag);
    assert.equal(again.body, '');
    assert.equal(again.isBase64Encoded, false);
  });

  it('answers 400 for a malformed option, as plain text naming it', async () => {
    const r = await handler(httpEvent('rest-api-v1', { rawPath: '/0x300/kleiber.jpg' }));
    assert.equal(r.statusCode, 400);
    assert.equal(r.isBase64Encoded, false);
    assert.match(String(r.headers?.['Content-Type']), /^text\/plain/);
    assert.match(r.body ?? '', /width between 1 and 8192/);
    assert.equal(r.headers?.['Cache-Control'], 'no-store');
  });

  it('answers 404 for a missing source and stores nothing', async () => {
    const r = await handler(httpEvent('function-url', { rawPath: '/300x200/nope.jpg' }));
    assert.equal(r.statusCode, 404);
    assert.equal(await derivative('300x200/nope.jpg'), null);
  });

  it('a key with a space and unicode reaches the same derivative key from every event shape', async () => {
    const rawPath = '/90x/dir/a%20b%20%C3%BC.jpg';
    const results = [];
    for (const shape of SHAPES) results.push(await handler(httpEvent(shape, { rawPath })));
    assert.deepEqual(results.map((r) => [r.statusCode, r.headers?.['X-Cache']]), [[200, 'MISS'], [200, 'HIT'], [200, 'HIT']]);
    const stored = await derivative('90x/dir/a b ü.jpg');
    assert.ok(stored, 'stored at the decoded key');
    for (const r of results) {
      assert.ok(body(r).equals(stored));
      assert.equal((await sharp(body(r)).metadata()).width, 90);
    }
  });

  it('a key with a literal % survives REST\'s decoded path', async () => {
    await upload('100%.jpg', await readFile(join(FIXTURES, 'photos/issue70.jpg')));
    const viaUrl = await handler(httpEvent('function-url', { rawPath: '/64x/100%25.jpg' }));
    const viaRest = await handler(httpEvent('rest-api-v1', { rawPath: '/64x/100%25.jpg' }));
    assert.deepEqual([viaUrl.statusCode, viaUrl.headers?.['X-Cache'], viaRest.statusCode, viaRest.headers?.['X-Cache']], [200, 'MISS', 200, 'HIT']);
    assert.ok(await derivative('64x/100%.jpg'));
    assert.equal((await sharp(body(viaRest)).metadata()).width, 64);
  });

  const acceptCases: Array<[string, string, string, string]> = [
    ['image/avif,image/webp,*/*', 'image/avif', 'heif', '200x,avif'],
    ['image/webp,*/*;q=0.8', 'image/webp', 'webp', '200x,webp'],
    ['*/*', 'image/jpeg', 'jpeg', '200x'],
  ];
  for (const [accept, type, format, key] of acceptCases) {
    it(`auto with Accept "${accept}" answers ${type} with Vary: Accept`, async () => {
      const r = await handler(httpEvent('rest-api-v1', { rawPath: '/200x,auto/kleiber.jpg', headers: { Accept: accept } }));
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers?.['Content-Type'], type);
      assert.equal(r.headers?.Vary, 'Accept');
      const meta = await sharp(body(r)).metadata();
      assert.equal(meta.format, format);
      assert.equal(meta.width, 200);
      assert.ok(await derivative(`${key}/kleiber.jpg`), `stored as ${key}/kleiber.jpg`);
    });
  }
});

describe('responses over Lambda\'s 6 MB limit', () => {
  it('are stored and answered with a redirect to the public base, never an error', async () => {
    // Noise does not compress: a 1600x1600 RGB PNG of it is ~7.7 MB, ~10 MB as base64. Asked one pixel smaller,
    // since a box the source already fits in is stored once under the size-free key (effective-size dedup).
    const side = 1600;
    const noise = randomBytes(side * side * 3);
    await upload('noise.png', await sharp(noise, { raw: { width: side, height: side, channels: 3 } }).png().toBuffer());

    for (const shape of SHAPES) {
      const r = await handler(httpEvent(shape, { rawPath: '/1599x1599,png/noise.png' }));
      assert.equal(r.statusCode, 302, `${shape}: ${r.statusCode} ${r.body?.slice(0, 200)}`);
      assert.equal(r.headers?.Location, `${PUBLIC_BASE}/1599x1599%2Cpng/noise.png`);
      assert.equal(r.body, '');
      assert.ok(JSON.stringify(r).length < LAMBDA_RESPONSE_LIMIT);
    }
    const stored = await derivative('1599x1599,png/noise.png');
    assert.ok(stored && Math.ceil(stored.length / 3) * 4 > LAMBDA_RESPONSE_LIMIT, `stored ${stored?.length} bytes`);
    const meta = await sharp(stored).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', side - 1, side - 1]);
  });

  it('redirect relatively without RESIZER_PUBLIC_BASE: behind CloudFront, to the same canonical URL, now in the bucket', async () => {
    const relative = createHandler(await buildLambdaApps(lambdaConfig({
      RESIZER_SOURCE: `s3://${SOURCES}`, RESIZER_CACHE: `s3://${DERIVATIVES}`, RESIZER_S3_FORCE_PATH_STYLE: 'true', RESIZER_LOG_LEVEL: 'silent',
    })));
    const r = await relative(httpEvent('function-url', { rawPath: '/1599x,png/noise.png' }));
    assert.equal(r.statusCode, 302);
    assert.equal(r.headers?.Location, '/1599x%2Cpng/noise.png');
    assert.equal(r.headers?.['Cache-Control'], 'no-cache', 'CloudFront must not keep the redirect: the next request finds the bucket copy');
    const meta = await sharp((await derivative('1599x,png/noise.png'))!).metadata();
    assert.deepEqual([meta.format, meta.width], ['png', 1599]);
  });
});
