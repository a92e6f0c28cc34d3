import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import sharp from 'sharp';
import { createHttpServer, listen } from '../../src/server/http.js';
import { originForm } from '../../src/server/client-error.js';
import { rawRequest } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Every name Object.prototype answers to, plus the usual pollution spellings. */
const PROTOTYPE_NAMES = [
  ...Object.getOwnPropertyNames(Object.prototype),
  'prototype', '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf',
  'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__', 'then',
];

let srv: TestServer;
let url: string;
let closeTimed: () => Promise<void>;

/** One raw exchange: writes `text` (optionally a byte at a time), returns what the server sent back. */
function exchange(port: number, text: string, opts: { dripMs?: number } = {}): Promise<{ reply: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    let drip: NodeJS.Timeout | undefined;
    socket.on('data', (c) => { reply += c.toString('latin1'); });
    socket.on('error', (err) => (reply ? undefined : reject(err)));
    socket.on('close', () => { clearInterval(drip); resolve({ reply, ms: Date.now() - started }); });
    socket.on('connect', () => {
      if (!opts.dripMs) { socket.write(text); return; }
      let i = 0;
      drip = setInterval(() => { if (i < text.length && socket.writable) socket.write(text[i++] ?? ''); }, opts.dripMs);
    });
  });
}

before(async () => {
  srv = await startTestServer();
  // A second listener on the same app with a short header deadline, for the slowloris case.
  const timed = createHttpServer(srv.app, pino({ level: 'silent' }), { headersTimeoutMs: 500, connectionsCheckingIntervalMs: 100 });
  const addr = await listen(timed, 0, '127.0.0.1');
  url = `http://127.0.0.1:${addr.port}`;
  closeTimed = async () => { timed.closeAllConnections(); await new Promise<void>((r) => timed.close(() => r())); };
});
after(async () => { await closeTimed(); await srv.close(); });

describe('prototype names are plain unknown words', () => {
  it('as an option token: 400, never stored', async () => {
    for (const name of PROTOTYPE_NAMES) {
      for (const segment of [name, `300x200,cover,${name}`, `${name},300x`]) {
        const res = await rawRequest(srv.url, `/${encodeURIComponent(segment)}/orientation/pillow/hopper.jpg`);
        assert.equal(res.status, 400, `${segment} -> ${res.status} ${res.body.toString()}`);
      }
    }
    assert.equal(srv.app.stats.transforms, 0);
  });

  it('as a service route: 404', async () => {
    for (const name of PROTOTYPE_NAMES) {
      const res = await rawRequest(srv.url, `/_/${encodeURIComponent(name)}`);
      assert.equal(res.status, 404, `/_/${name} -> ${res.status}`);
    }
    assert.equal((await rawRequest(srv.url, '/_/healthz')).status, 200);
  });
});

describe('requests the HTTP parser refuses', () => {
  it('431 for headers over the size limit', async () => {
    const port = Number(new URL(srv.url).port);
    const { reply } = await exchange(port, `GET /_/healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 431 /);
  });

  it('408 for headers that do not arrive in time (slowloris)', async () => {
    const port = Number(new URL(url).port);
    const { reply, ms } = await exchange(port, `GET /_/healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, { dripMs: 50 });
    assert.match(reply, /^HTTP\/1\.1 408 /);
    assert.ok(ms < 5000, `closed after ${ms} ms`);
  });

  it('400 for garbage', async () => {
    const port = Number(new URL(srv.url).port);
    const { reply } = await exchange(port, 'GET / HTTP/1.1\r\nHost x\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 400 /);
  });
});

describe('absolute-form request targets', () => {
  it('are served by their path', async () => {
    const port = Number(new URL(srv.url).port);
    const { reply } = await exchange(port, 'GET http://example.com/_/healthz HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 200 /);
    const res = await rawRequest(srv.url, `http://images.example/40x/orientation/pillow/hopper.jpg`);
    assert.equal(res.status, 200);
    assert.equal((await sharp(res.body).metadata()).width, 40);
  });

  it('keep traversal visible to the path checks', () => {
    assert.equal(originForm('http://h/a/../b?x=1'), '/a/../b?x=1');
    assert.equal(originForm('HTTPS://h:8080'), '/');
    assert.equal(originForm('http://h?q'), '/?q');
    assert.equal(originForm('/plain'), '/plain');
  });
});
