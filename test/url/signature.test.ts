import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildUrl } from '../../src/url/builder.js';
import { hmacSha256 } from '../../src/url/hmac.js';
import {
  constantTimeEqual, parseSignatureSegment, signatureSegment as sign, verifySignature as verify, verifySignedPath as verifyPath,
} from '../../src/url/signature.js';

const signatureSegment = (path: string, key: string, expires?: number) => sign(path, key, expires, hmacSha256);
const verifySignature = (...args: [Parameters<typeof verify>[0], Parameters<typeof verify>[1], Parameters<typeof verify>[2], number]) => verify(...args, hmacSha256);
const verifySignedPath = (path: string, keys: string[], now: number, hmac = hmacSha256) => verifyPath(path, keys, now, hmac);
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const OLD = 'old-key-0123456789abcdef';
const NEW = 'new-key-fedcba9876543210';
const IMAGE = 'orientation/pillow/hopper.jpg';

/** A signed path for `/{segment}/{key}`, as a client would build it. */
function signed(segment: string, key: string, opts: { expires?: number; with?: string } = {}): string {
  return `/${signatureSegment(`/${segment}/${key}`, opts.with ?? NEW, opts.expires)}/${segment}/${key}`;
}

describe('signature primitives', () => {
  it('the core imports nothing (the edge passes its own HMAC), the HMAC module only @noble/hashes', () => {
    const source = (name: string) => readFileSync(new URL(`../../src/url/${name}`, import.meta.url), 'utf8');
    assert.doesNotMatch(source('signature.ts'), /^\s*import\s/m);
    assert.deepEqual([...source('hmac.ts').matchAll(/from '([^']+)'/g)].map((m) => m[1]), ['@noble/hashes/hmac.js', '@noble/hashes/sha2.js', './signature.js']);
  });

  it('HMAC-SHA256 in unpadded base64url, the same as node:crypto (RFC 4231 case 2 too)', () => {
    const node = (k: string, m: string) => createHmac('sha256', k).update(m).digest('base64url');
    for (const [k, m] of [['key', 'The quick brown fox jumps over the lazy dog'], [NEW, '/300x200,cover/a b/ü.jpg\n1700000000'], ['Jefe', 'what do ya want for nothing?']] as const) {
      assert.equal(hmacSha256(k, m), node(k, m));
    }
    assert.equal(Buffer.from(hmacSha256('Jefe', 'what do ya want for nothing?'), 'base64url').toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('parses s-{sig} and s-{sig}-{expires}, nothing else', () => {
    const sig = hmacSha256(NEW, 'x');
    assert.equal(sig.length, 43);
    assert.deepEqual(parseSignatureSegment(`s-${sig}`), { signature: sig });
    assert.deepEqual(parseSignatureSegment(`s-${sig}-1700000000`), { signature: sig, expires: 1_700_000_000 });
    for (const bad of [`s-${sig}x`, `s-${sig.slice(1)}`, `s-${sig}-`, `s-${sig}-12a`, 's-', `S-${sig}`]) assert.equal(parseSignatureSegment(bad), undefined, bad);
  });

  it('verifies with any key, checks expiry only for a good signature', () => {
    const path = '/300x/a.jpg';
    const seg = parseSignatureSegment(signatureSegment(path, OLD, 2000));
    assert.ok(seg);
    assert.equal(verifySignature(path, seg, [NEW, OLD], 1999), 'valid');
    assert.equal(verifySignature(path, seg, [NEW, OLD], 2000), 'expired');
    assert.equal(verifySignature(path, seg, [NEW], 1999), 'invalid');
    assert.equal(verifySignature('/301x/a.jpg', seg, [NEW, OLD], 1999), 'invalid');
    assert.equal(verifySignature(path, { ...seg, expires: 3000 }, [NEW, OLD], 2500), 'invalid', 'a moved expiry breaks the signature');
  });

  it('compares in constant time by construction', () => {
    assert.ok(constantTimeEqual('abc', 'abc'));
    assert.ok(!constantTimeEqual('abc', 'abd'));
    assert.ok(!constantTimeEqual('abc', 'ab'));
    assert.ok(!constantTimeEqual('', 'a'));
    assert.ok(constantTimeEqual('', ''));
  });
});

describe('signed URLs over HTTP', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer({ signingKeys: `${NEW},${OLD}` }); });
  after(async () => { await srv.close(); });

  it('signed: 200, stored under the sig-free canonical key', async () => {
    const res = await rawRequest(srv.url, signed('80x60', IMAGE));
    assert.equal(res.status, 200, res.body.toString());
    const meta = await sharp(res.body).metadata();
    assert.deepEqual([meta.width, meta.height], [60, 60]);
    assert.deepEqual((await readdir(srv.cacheDir)).filter((n) => !n.startsWith('.')), ['80x60']);
  });

  it('another spelling of the same transform verifies with the same signature', async () => {
    const sig = signatureSegment(`/80x60/${IMAGE}`, NEW);
    assert.equal((await rawRequest(srv.url, `/${sig}/0080x0060,inside/${IMAGE}`)).status, 200);
  });

  it('tampered options, key or signature: 403', async () => {
    const good = signed('80x60', IMAGE);
    const sig = good.split('/')[1] ?? '';
    for (const path of [
      `/${sig}/81x60/${IMAGE}`,
      `/${sig}/80x60,webp/${IMAGE}`,
      `/${sig}/80x60/orientation/pillow/other.jpg`,
      `/${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}/80x60/${IMAGE}`,
    ]) {
      const res = await rawRequest(srv.url, path);
      assert.equal(res.status, 403, `${path}: ${res.status}`);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
  });

  it('wrong key: 403; the rotated-out key still verifies: 200', async () => {
    assert.equal((await rawRequest(srv.url, signed('70x', IMAGE, { with: 'some-other-key-000000' }))).status, 403);
    assert.equal((await rawRequest(srv.url, signed('70x', IMAGE, { with: OLD }))).status, 200);
  });

  it('expiry: 200 before, 403 after', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await rawRequest(srv.url, signed('60x', IMAGE, { expires: now + 600 }))).status, 200);
    const expired = await rawRequest(srv.url, signed('60x', IMAGE, { expires: now - 1 }));
    assert.equal(expired.status, 403);
    assert.match(expired.body.toString(), /expired/);
  });

  it('unsigned or malformed signature: 403 / 400, and nothing transformed', async () => {
    const before = srv.app.stats.transforms;
    assert.equal((await rawRequest(srv.url, `/50x/${IMAGE}`)).status, 403);
    assert.equal((await rawRequest(srv.url, `/s-short/50x/${IMAGE}`)).status, 400);
    assert.equal(srv.app.stats.transforms, before);
    assert.equal((await rawRequest(srv.url, '/_/healthz')).status, 200, 'service endpoints are not signed');
  });
});

describe('the edge check (verifySignedPath) agrees with the server', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer({ signingKeys: `${NEW},${OLD}` }); });
  after(async () => { await srv.close(); });

  it('on signed, tampered, wrong-key, rotated, expired and unsigned URLs', async () => {
    const now = Math.floor(Date.now() / 1000);
    const node = (k: string, m: string) => createHmac('sha256', k).update(m).digest('base64url');
    const good = buildUrl(IMAGE, { width: 33, format: 'webp' }, { signingKey: NEW });
    const cases: Array<[string, string]> = [
      ['signed', good],
      ['signed with expiry', buildUrl(`dir with space/${IMAGE}`, '34x', { signingKey: NEW, expires: now + 60 })],
      ['tampered', good.replace('33x', '35x')],
      ['wrong key', buildUrl(IMAGE, '36x', { signingKey: 'not-the-key-000000000' })],
      ['rotated', buildUrl(IMAGE, '37x', { signingKey: OLD })],
      ['expired', buildUrl(IMAGE, '38x', { signingKey: NEW, expires: now - 5 })],
      ['unsigned', `/39x/${IMAGE}`],
      ['malformed', `/s-abc/39x/${IMAGE}`],
    ];
    for (const [name, path] of cases) {
      const edge = verifySignedPath(path, [NEW, OLD], now, node);
      assert.equal(verifySignedPath(path, [NEW, OLD], now), edge, `${name}: the pure HMAC and node:crypto agree`);
      const status = (await rawRequest(srv.url, path)).status;
      const expected = edge === 'valid' ? [200, 404] : edge === 'malformed' ? [400] : [403];
      assert.ok(expected.includes(status), `${name}: edge says ${edge}, server ${status}`);
    }
  });
});

describe('a server without keys', () => {
  it('refuses signed URLs rather than ignoring the signature', async () => {
    const srv = await startTestServer();
    try {
      assert.equal((await rawRequest(srv.url, signed('40x', IMAGE))).status, 403);
      assert.equal((await rawRequest(srv.url, `/40x/${IMAGE}`)).status, 200);
    } finally {
      await srv.close();
    }
  });
});
