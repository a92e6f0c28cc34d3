import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

let srv: TestServer;
let src: string;

before(async () => {
  src = await sourceDir({ 'broken.png': 'broken/broken_data_stream.png', 'ok.jpg': 'orientation/pillow/hopper.jpg' });
  srv = await startTestServer({ source: src, failureTtlSeconds: 1 });
});
after(async () => {
  await srv.close();
  await rm(src, { recursive: true, force: true });
});

describe('failures are remembered per derivative key', () => {
  it('a failing source transforms once per interval, answering the same error meanwhile', async () => {
    const first = await fetch(`${srv.url}/50x/broken.png`);
    const firstText = await first.text();
    assert.equal(first.status, 422, firstText);
    const before = srv.app.stats.transforms;
    for (let i = 0; i < 5; i++) {
      const again = await fetch(`${srv.url}/50x/broken.png`);
      assert.equal(again.status, 422);
      assert.equal(await again.text(), firstText);
    }
    assert.equal(srv.app.stats.transforms, before, 'no transform while the failure is remembered');
    // Another derivative of the same source is its own key: one transform for it.
    assert.equal((await fetch(`${srv.url}/60x/broken.png`)).status, 422);
    assert.equal(srv.app.stats.transforms, before + 1);
    await sleep(1200);
    assert.equal((await fetch(`${srv.url}/50x/broken.png`)).status, 422);
    assert.equal(srv.app.stats.transforms, before + 2, 'tried again once the interval passed');
  });

  it('a missing source is not remembered: it shows up as soon as it is uploaded', async () => {
    assert.equal((await fetch(`${srv.url}/50x/later.jpg`)).status, 404);
    const { copyFile } = await import('node:fs/promises');
    await copyFile(`${src}/ok.jpg`, `${src}/later.jpg`);
    assert.equal((await fetch(`${srv.url}/50x/later.jpg`)).status, 200);
  });
});

describe('what is remembered', () => {
  it('source-caused failures and bugs, not store trouble, a busy server or a missing source', async () => {
    const { FailureMemory } = await import('../../src/derive/failure-memory.js');
    const e = await import('../../src/errors/index.js');
    const memory = new FailureMemory(60);
    const cases: Array<[unknown, boolean]> = [
      [new e.Unprocessable('bad'), true], [new e.UnsupportedMediaType('heic'), true], [new e.PayloadTooLarge('big'), true],
      [new e.TransformTimeout('slow'), true], [new Error('bug'), true],
      [new e.BadGateway('S3 cut'), false], [new e.GatewayTimeout('S3 slow'), false], [new e.ServiceUnavailable('busy'), false], [new e.NotFound(), false],
    ];
    cases.forEach(([err, remembered], i) => {
      memory.remember(`k${i}`, err);
      if (remembered) assert.throws(() => memory.check(`k${i}`), (thrown: unknown) => thrown instanceof e.ResizerError, String(err));
      else assert.doesNotThrow(() => memory.check(`k${i}`), String(err));
    });
    assert.throws(() => memory.check('k4'), (thrown: unknown) => thrown instanceof e.ResizerError && thrown.status === 500);
  });
});
