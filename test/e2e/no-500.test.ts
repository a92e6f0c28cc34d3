import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => { srv = await startTestServer(); });
after(async () => { await srv.close(); });

/** Paths made of random bytes, percent-encoded, with separators sprinkled in. */
function randomPath(seed: Buffer): string {
  const alphabet = ['/', ',', 'x', '.', '%', '%2e', '%2f', '%00', '%c3', '..', '\\', '_', '9', '-', 'q'];
  let out = '/';
  for (const b of seed) out += b % 3 === 0 ? alphabet[b % alphabet.length] : encodeURIComponent(String.fromCharCode(b));
  return out;
}

describe('bad input never yields a 500', () => {
  it('random paths answer 4xx, quickly', async () => {
    for (let i = 0; i < 300; i++) {
      const path = randomPath(randomBytes(1 + (i % 40)));
      const res = await rawRequest(srv.url, path);
      assert.ok(res.status >= 400 && res.status < 500, `${path} -> ${res.status} ${res.body.toString()}`);
    }
  });

  it('very long URLs and segments are refused with 400', async () => {
    for (const path of [`/${'1'.repeat(600)}x1/a.jpg`, `/10x10/${'a/'.repeat(600)}b.jpg`, `/${'x,'.repeat(300)}/a.jpg`]) {
      const res = await rawRequest(srv.url, path);
      assert.equal(res.status, 400, path);
    }
  });

  it('the service still answers afterwards', async () => {
    const res = await rawRequest(srv.url, '/_/healthz');
    assert.equal(res.status, 200);
  });
});
