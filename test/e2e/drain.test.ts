import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getFresh, type FreshResponse } from '../helpers/fresh.js';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { parseExposition, total } from '../helpers/prom.js';
import { S3_CREDENTIALS, S3_REGION } from '../helpers/s3-server.js';
import { SOURCE_BUCKET, startS3World, type S3World } from './s3-world.js';

const SOURCE_DELAY_MS = 1500;
const DRAIN_TIMEOUT_S = 10;

let w: S3World;
before(async () => {
  w = await startS3World();
  for (const k of ['a.png', 'b.png', 'c.png']) await w.upload(k, 'png/rgba.png');
});
after(async () => { await w.close(); });

/** resizer over S3 through the fault proxy, one transform and one read at a time, ops on their own port. */
async function start(extra: string[]): Promise<{ srv: ServerProcess; ops: string }> {
  const port = await freePort();
  const srv = await startServerProcess([
    '--source', `s3://${SOURCE_BUCKET}`, '--cache', 'none', '--s3-force-path-style', '--s3-timeout-ms', '8000',
    '--concurrency', '1', '--read-concurrency', '1', '--port', '0', '--metrics-port', String(port),
    '--drain-timeout', String(DRAIN_TIMEOUT_S), ...extra,
  ], {
    AWS_ENDPOINT_URL_S3: w.proxy.endpoint, AWS_REGION: S3_REGION,
    AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
  });
  const ops = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if ((await getFresh(`${ops}/readyz`).catch(() => undefined))?.status === 200) return { srv, ops };
    await sleep(25);
  }
  throw new Error(`ops port never ready: ${srv.log()}`);
}

async function admitted(ops: string): Promise<number> {
  const s = parseExposition((await getFresh(`${ops}/metrics`)).body.toString());
  return total(s, 'resizer_admission_in_flight') + total(s, 'resizer_admission_waiting');
}

const exited = (srv: ServerProcess) => new Promise<number | null>((resolve) => {
  if (srv.child.exitCode !== null) resolve(srv.child.exitCode);
  else srv.child.once('exit', (code) => resolve(code));
});

describe('graceful drain on SIGTERM', () => {
  for (const workers of [1, 2]) {
    it(`--workers ${workers}: a request in flight and one queued both get 200, readiness says 503 meanwhile, exit 0`, async () => {
      const { srv, ops } = await start(['--workers', String(workers)]);
      try {
        w.proxy.inject({ kind: 'delay', ms: SOURCE_DELAY_MS }, (r) => r.method === 'GET' && /\/[ab]\.png/.test(r.url));
        const a = getFresh(`${srv.url}/30x/a.png`);
        const b = getFresh(`${srv.url}/30x/b.png`);
        for (let i = 0; i < 200 && (await admitted(ops)) < 2; i++) await sleep(10);
        assert.equal(await admitted(ops), 2, 'one reading its source, one queued behind it');
        const signalled = performance.now();
        srv.child.kill('SIGTERM');
        // Readiness goes 503 at once (the ops port stays up for it), and the serving port takes no new connection.
        let ready = 200;
        for (let i = 0; i < 50 && ready === 200; i++) { ready = (await getFresh(`${ops}/readyz`)).status; await sleep(10); }
        assert.equal(ready, 503);
        assert.ok(performance.now() - signalled < SOURCE_DELAY_MS, 'readiness 503 before the requests finished');
        let refused: unknown;
        for (let i = 0; i < 50 && !refused; i++) { await getFresh(`${srv.url}/_/healthz`).catch((err: unknown) => { refused = err; }); await sleep(10); }
        assert.match(String((refused as { code?: string })?.code), /ECONNREFUSED|ECONNRESET/);
        const [ra, rb] = await Promise.all([a, b]) as [FreshResponse, FreshResponse];
        assert.deepEqual([ra.status, rb.status], [200, 200]);
        assert.ok(ra.body.length > 0 && rb.body.length > 0);
        assert.equal(ra.headers.connection, 'close', 'keep-alive closed politely after the response');
        assert.equal(await exited(srv), 0);
        const took = performance.now() - signalled;
        assert.ok(took < DRAIN_TIMEOUT_S * 1000, `exit ${Math.round(took)} ms after SIGTERM`);
      } finally {
        w.proxy.heal();
        await srv.stop();
      }
    });
  }

  it('a second signal exits at once, without waiting for the drain', async () => {
    const { srv, ops } = await start([]);
    try {
      w.proxy.inject({ kind: 'delay', ms: 5000 }, (r) => r.method === 'GET' && r.url.includes('/c.png'));
      const c = getFresh(`${srv.url}/30x/c.png`).catch((err: unknown) => err);
      for (let i = 0; i < 200 && (await admitted(ops)) < 1; i++) await sleep(10);
      const signalled = performance.now();
      srv.child.kill('SIGTERM');
      await sleep(100);
      srv.child.kill('SIGTERM');
      const code = await exited(srv);
      assert.notEqual(code, 0);
      assert.ok(performance.now() - signalled < 2000, 'did not wait for the 5 s source');
      await c;
    } finally {
      w.proxy.heal();
      await srv.stop();
    }
  });
});
