import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ResizerError } from '../../src/errors/index.js';
import { refusedAddress } from '../../src/storage/address-policy.js';
import { FsDerivativeStore } from '../../src/storage/fs.js';
import { HttpSourceStore } from '../../src/storage/http.js';
import { startOrigin, type TestOrigin } from '../helpers/origin.js';
import { FIXTURES, startTestServer } from '../helpers/server.js';
import { storeContract } from './contract.js';

storeContract('http', async () => {
  const root = await mkdtemp(join(tmpdir(), 'resizer-http-contract-'));
  const origin = await startOrigin(join(root, 'sources'));
  await mkdir(join(root, 'sources'));
  const sources = new HttpSourceStore(`http://127.0.0.1:${origin.port}/images`, { allowLoopback: true });
  return {
    sources,
    derivatives: new FsDerivativeStore(join(root, 'derivatives')),
    async putSource(key, body) {
      const path = join(root, 'sources', key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    },
    async close() { sources.close(); await origin.close(); await rm(root, { recursive: true, force: true }); },
  };
}, { cannotList: true });

async function refused(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ResizerError, String(err));
    assert.equal(err.status, status, err.message);
    // The public message stays generic; the host, address and reason are in the detail (logged).
    assert.match(`${err.message} (${err.detail ?? ''})`, message);
    return true;
  });
}

describe('address policy', () => {
  it('refuses every non-public address, and IPv6 forms embedding one', () => {
    for (const ip of ['127.0.0.1', '127.255.0.9', '10.0.0.5', '172.16.3.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '100.127.255.254',
      '0.0.0.0', '224.0.0.1', '255.255.255.255', '240.0.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd12::1', 'ff02::1', 'fec0::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::127.0.0.1', '64:ff9b::a00:1', '2002:7f00:1::', '2002:a00:1::1', '2001:0:4136:e378::1', '2001:db8::1']) {
      assert.ok(refusedAddress(ip), `${ip} allowed`);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '100.128.0.1', '2606:4700::1111', '2a00:1450:4001::200e']) {
      assert.equal(refusedAddress(ip), undefined, ip);
    }
  });
});

describe('http source: SSRF', () => {
  let root: string;
  let origin: TestOrigin;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'resizer-origin-'));
    await copyFile(join(FIXTURES, 'orientation/pillow/hopper.jpg'), join(root, 'ok.jpg'));
    origin = await startOrigin(root);
  });
  after(async () => { await origin.close(); await rm(root, { recursive: true, force: true }); });

  const local = (extra: ConstructorParameters<typeof HttpSourceStore>[1] = {}) =>
    new HttpSourceStore(`http://localhost:${origin.port}/images`, { allowLoopback: true, ...extra });

  it('a redirect to 127.0.0.1 is refused, even with the host allowed', async () => {
    const store = local({ allowedHosts: ['127.0.0.1'] });
    assert.equal((await store.get('ok.jpg', { maxBytes: 1e6 })).size > 0, true, 'the origin itself is reachable');
    origin.redirects.set('to-loopback.jpg', `http://127.0.0.1:${origin.port}/images/ok.jpg`);
    const before = origin.hits.length;
    await refused(store.get('to-loopback.jpg', { maxBytes: 1e6 }), 502, /127\.0\.0\.1.*loopback/);
    assert.deepEqual(origin.hits.slice(before), ['/images/to-loopback.jpg'], 'the redirect target was never asked');
    store.close();
  });

  it('a redirect to a host not allowed, to another scheme, or in a loop is refused', async () => {
    const store = local();
    origin.redirects.set('elsewhere.jpg', 'http://example.com/x.jpg');
    origin.redirects.set('file.jpg', 'file:///etc/passwd');
    origin.redirects.set('loop.jpg', `http://localhost:${origin.port}/images/loop.jpg`);
    await refused(store.get('elsewhere.jpg', { maxBytes: 1e6 }), 502, /not an allowed source host/);
    await refused(store.get('file.jpg', { maxBytes: 1e6 }), 502, /file:/);
    await refused(store.get('loop.jpg', { maxBytes: 1e6 }), 502, /more than 3 times/);
    origin.redirects.set('hop.jpg', `http://localhost:${origin.port}/images/ok.jpg`);
    assert.ok((await store.get('hop.jpg', { maxBytes: 1e6 })).body.length > 0, 'an allowed redirect is followed');
    store.close();
  });

  it('a name resolving to 10.x is refused before connecting, whichever of its addresses is private', async () => {
    for (const answer of [['10.0.0.5'], ['93.184.216.34', '10.0.0.5'], ['169.254.169.254'], ['::ffff:10.0.0.5']]) {
      const store = new HttpSourceStore('http://images.internal.test/images', {
        resolve: async () => answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
        timeoutMs: 1000,
      });
      await refused(store.get('a.jpg', { maxBytes: 100 }), 502, /Refusing to connect to images\.internal\.test/);
      store.close();
    }
  });

  it('[::ffff:127.0.0.1] and 100.64.0.1 are refused as literals', async () => {
    const before = origin.hits.length;
    const mapped = new HttpSourceStore(`http://[::ffff:127.0.0.1]:${origin.port}/images`);
    await refused(mapped.get('ok.jpg', { maxBytes: 1e6 }), 502, /IPv4-mapped loopback/);
    const cgnat = new HttpSourceStore('http://100.64.0.1/images', { timeoutMs: 1000 });
    await refused(cgnat.get('ok.jpg', { maxBytes: 1e6 }), 502, /carrierGradeNat/);
    const plain = new HttpSourceStore(`http://localhost:${origin.port}/images`);
    await refused(plain.get('ok.jpg', { maxBytes: 1e6 }), 502, /loopback/);
    assert.equal(origin.hits.length, before, 'the origin saw none of them');
    for (const s of [mapped, cgnat, plain]) s.close();
  });

  it('bounds bytes while streaming and time overall', async () => {
    const store = local({ timeoutMs: 800 });
    origin.special.set('big.bin', 'chunked-big');
    await refused(store.get('big.bin', { maxBytes: 1024 * 1024 }), 413, /over the limit/);
    origin.special.set('stall.jpg', 'stall');
    const started = Date.now();
    await refused(store.get('stall.jpg', { maxBytes: 1e6 }), 504, /too slow/);
    assert.ok(Date.now() - started < 2000);
    store.close();
  });

  it('keeps a version for origins without ETag', async () => {
    const store = local();
    origin.special.set('ok.jpg', 'no-version');
    try {
      const got = await store.get('ok.jpg', { maxBytes: 1e6 });
      const info = await store.head('ok.jpg');
      assert.equal(info?.etag, got.etag);
    } finally {
      origin.special.delete('ok.jpg');
      store.close();
    }
  });

  it('serves images from the origin over the server', async () => {
    const srv = await startTestServer({ source: `http://localhost:${origin.port}/images`, httpSourceAllowLoopback: true });
    try {
      const res = await fetch(`${srv.url}/40x,webp/ok.jpg`);
      assert.equal(res.status, 200);
      assert.equal((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width, 40);
      assert.equal((await fetch(`${srv.url}/40x/missing.jpg`)).status, 404);
    } finally {
      await srv.close();
    }
  });
});
