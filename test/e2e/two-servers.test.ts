import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { CACHE_BUCKET, SOURCE_BUCKET, startS3World, type S3World } from './s3-world.js';
import { storedKeyOf } from './s3-keys.js';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';

/** `resizer serve` as its own process on one shared S3 store, configured the way a deployment would be. */
function startServer(env: Record<string, string>): Promise<ServerProcess> {
  return startServerProcess(['--port', '0', '--host', '127.0.0.1'], {
    ...env,
    RESIZER_SOURCE: `s3://${SOURCE_BUCKET}`,
    RESIZER_CACHE: `s3://${CACHE_BUCKET}`,
    RESIZER_S3_FORCE_PATH_STYLE: 'true',
    RESIZER_LOG_LEVEL: 'info',
  });
}

let w: S3World;
let a: ServerProcess;
let b: ServerProcess;

before(async () => {
  w = await startS3World();
  await w.upload('shared/dice.png', 'png/dice.png');
  await w.upload('shared/sample.png', 'png/sample.png');
  [a, b] = await Promise.all([startServer(w.s3.env), startServer(w.s3.env)]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await w.close();
});

describe('two server processes on one S3 store', () => {
  it('a derivative made by one is served by the other as a HIT, byte for byte', async () => {
    const made = await fetch(`${a.url}/150x/shared/dice.png`);
    assert.equal(made.status, 200);
    assert.equal(made.headers.get('x-cache'), 'MISS');
    const body = Buffer.from(await made.arrayBuffer());
    const served = await fetch(`${b.url}/150x/shared/dice.png`);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('x-cache'), 'HIT');
    assert.ok(Buffer.from(await served.arrayBuffer()).equals(body));
    assert.equal(served.headers.get('etag'), made.headers.get('etag'));
  });

  it('concurrent misses for one key across both never store a corrupt object', async () => {
    const segments = ['300x200', '240x', 'x170,webp'];
    const requests = segments.flatMap((segment) =>
      Array.from({ length: 6 }, (_, i) => ({ segment, server: i % 2 ? b : a })));
    const results = await Promise.all(requests.map(async ({ segment, server }) => {
      const res = await fetch(`${server.url}/${segment}/shared/sample.png`);
      return { segment, status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    }));
    for (const segment of segments) {
      const mine = results.filter((r) => r.segment === segment);
      assert.ok(mine.every((r) => r.status === 200), `statuses ${mine.map((r) => r.status).join(',')}`);
      const first = mine[0]!.body;
      assert.ok(mine.every((r) => r.body.equals(first)), `${segment}: the servers answered different bytes`);

      const stored = await w.stored(storedKeyOf(segment, 'shared/sample.png'));
      assert.ok(stored, `${segment} was not stored`);
      assert.ok(stored.body.equals(first), `${segment}: stored bytes differ from the served ones`);
      // Decoding every pixel proves the object whole, not only its header.
      const { info } = await sharp(stored.body).raw().toBuffer({ resolveWithObject: true });
      const served = await sharp(first).metadata();
      assert.equal(info.width, served.width);
      assert.equal(info.height, served.height);
    }
  });
});
