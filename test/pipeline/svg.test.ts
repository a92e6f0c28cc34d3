import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { PayloadTooLarge, UnsupportedMediaType, Unprocessable } from '../../src/errors/index.js';
import { rasteriseSvg } from '../../src/pipeline/svg-process.js';
import { FIXTURES, startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';
import { fixture, meanDiff, pixel, raw, transform } from './helpers.js';

const LOGO = 'svg/logo.svg'; // 736x552 nominal
const LAUGHS = 'svg/515-pattern-billion-laughs.svg'; // ~1.5 s to render
/** The port the hostile fixtures name; the test serves a trap on a free port and rewrites it. */
const PLACEHOLDER_PORT = '47391';

describe('SVG sources', () => {
  it('are rasterised, PNG by default, never served as SVG', async () => {
    const out = await transform('200x', LOGO);
    assert.equal(out.format, 'png');
    assert.equal((await sharp(out.body).metadata()).format, 'png');
    assert.equal((await transform('200x,webp', LOGO)).format, 'webp');
    assert.equal((await transform('original', LOGO)).width, 736);
  });

  it('render at the size asked for, not upscaled from the nominal size', async () => {
    const onWhite = (img: Sharp) => raw(img.flatten({ background: '#ffffff' }));
    const big = await onWhite(sharp((await transform('2208x,png', LOGO)).body));
    const upscaled = await onWhite(sharp(await sharp(fixture(LOGO)).png().toBuffer()).resize(2208));
    assert.equal(big.width, 2208);
    const rendered = await onWhite(sharp(fixture(LOGO), { density: 72 * 3 }));
    assert.equal(rendered.width, 2208, 'reference rendered at 3x density');
    // The output is the vector drawn at 3x, not a 3x enlargement of the nominal bitmap.
    assert.ok(meanDiff(big, rendered) < 0.2, `vs 3x render ${meanDiff(big, rendered)}`);
    assert.ok(meanDiff(big, upscaled) > meanDiff(big, rendered) + 0.3, `vs upscaled ${meanDiff(big, upscaled)}`);
  });

  it('are bounded by the input pixel limit when rendered large', async () => {
    const out = await transform('8000x,png', LOGO, { maxInputPixels: 2_000_000 });
    assert.ok(out.width * out.height <= 2_000_000 && out.width >= 1600, `${out.width}x${out.height}`);
  });

  it('are refused when switched off (415) and above the byte limit (413)', async () => {
    await assert.rejects(transform('100x', LOGO, { svg: false }), UnsupportedMediaType);
    await assert.rejects(transform('100x', LOGO, { maxSvgBytes: 4000 }), PayloadTooLarge);
    assert.equal((await transform('100x', LOGO, { maxSvgBytes: 5000 })).width, 100);
  });

  it('a huge declared size is refused before rendering (422)', async () => {
    const huge = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><rect width="10" height="10"/></svg>');
    await assert.rejects(transform('100x', huge), Unprocessable);
  });
});

describe('hostile SVG over HTTP', () => {
  let server: TestServer;
  const hits: string[] = [];
  // The fixtures point at this server (their placeholder port is rewritten to its own): any request is a leak.
  const trap = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.end('<svg xmlns="http://www.w3.org/2000/svg"/>');
  });
  let src: string;

  before(async () => {
    await new Promise<void>((resolve, reject) => trap.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
    const port = String((trap.address() as AddressInfo).port);
    src = await sourceDir({ [LAUGHS]: LAUGHS, 'png/trans-x.png': 'png/trans-x.png' });
    await mkdir(join(src, 'svg-malicious'));
    for (const name of await readdir(join(FIXTURES, 'svg-malicious'))) {
      const text = await readFile(join(FIXTURES, 'svg-malicious', name), 'utf8');
      await writeFile(join(src, 'svg-malicious', name), text.replaceAll(PLACEHOLDER_PORT, port));
    }
    server = await startTestServer({ concurrency: 2, source: src });
  });
  after(async () => {
    await server.close();
    await new Promise((r) => trap.close(r));
    await rm(src, { recursive: true, force: true });
  });

  async function get(path: string) {
    const res = await fetch(server.url + path);
    return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  }

  it('scripts do not run and external references are not fetched', async () => {
    for (const file of ['script.svg', 'external-refs.svg']) {
      const res = await get(`/png/svg-malicious/${file}`);
      assert.equal(res.status, 200, file);
      assert.equal(res.type, 'image/png');
      const { channels } = await sharp(res.body).stats();
      assert.deepEqual(channels.map((c) => Math.round(c.mean)), [0, 255, 0, 255], `${file}: only the green rectangle`);
    }
    assert.deepEqual(hits, []);
  });

  it('external entities are not loaded: the document is refused without a fetch or a file read', async () => {
    for (const file of ['xxe.svg', 'xxe-parameter.svg']) {
      const res = await get(`/png/svg-malicious/${file}`);
      assert.equal(res.status, 422, file);
      assert.doesNotMatch(res.body.toString(), /root:/);
    }
    assert.deepEqual(hits, []);
  });

  it('references to files on the server disk draw nothing', async () => {
    const res = await get('/png/svg-malicious/local-files.svg');
    assert.equal(res.status, 200);
    const out = await raw(res.body, true);
    assert.equal(pixel(out, 50, 50)[3], 0, 'transparent where the images would be');
    assert.equal((await sharp(res.body).stats()).channels[3]?.max, 0);
  });

  it('the server stays responsive while a slow SVG renders', async () => {
    const started = Date.now();
    let slowDone = 0;
    const slow = get(`/400x,png/${LAUGHS}`).then((r) => { slowDone = Date.now(); return r; });
    await new Promise((r) => setTimeout(r, 100));
    const health = await fetch(`${server.url}/_/healthz`);
    const healthAt = Date.now();
    const small = await get('/20x,png/png/trans-x.png');
    const smallAt = Date.now();
    const slowRes = await slow;
    assert.equal(health.status, 200);
    assert.equal(small.status, 200);
    assert.equal(slowRes.status, 200);
    assert.ok(slowDone - started > 300, `the SVG is slow (${slowDone - started} ms)`);
    assert.ok(healthAt < slowDone && smallAt < slowDone, `answered while it rendered (${healthAt - started}, ${smallAt - started}, ${slowDone - started} ms)`);
  });
});

describe('SVG time budget', () => {
  it('a render past the transform timeout is killed on time: 422, a property of the image, not retryable', async () => {
    const server = await startTestServer({ transformTimeoutSeconds: 1 });
    try {
      // At twice its nominal size this file takes over 20 s in librsvg, which checks no timeout while it
      // draws: in-process, sharp's timeout fired only after ~14 s. The child process is killed at 1 s.
      const started = Date.now();
      const res = await fetch(`${server.url}/2268x,png/${LAUGHS}`);
      const elapsed = Date.now() - started;
      assert.equal(res.status, 422);
      assert.equal(res.headers.get('retry-after'), null);
      assert.match(await res.text(), /took too long/);
      assert.ok(elapsed < 4000, `stopped after ${elapsed} ms`);
      assert.equal((await fetch(`${server.url}/20x/png/trans-x.png`)).status, 200, 'and the server carries on');
    } finally {
      await server.close();
    }
  });

  it('RESIZER_SVG=off refuses SVG over HTTP with 415', async () => {
    const config = loadConfig({}, { RESIZER_SVG: 'off', RESIZER_MAX_SVG_BYTES: '2048', RESIZER_MAX_FRAMES: '10' });
    assert.deepEqual([config.svg, config.maxSvgBytes, config.maxFrames], ['off', 2048, 10]);
    assert.throws(() => loadConfig({}, { RESIZER_SVG: 'maybe' }), ConfigError);
    const server = await startTestServer({ svg: config.svg });
    try {
      const res = await fetch(`${server.url}/100x/${LOGO}`);
      assert.equal(res.status, 415);
      assert.match(await res.text(), /SVG/);
      assert.equal((await fetch(`${server.url}/100x/png/trans-x.png`)).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('SVG memory bound', () => {
  it('the rasteriser is killed when its memory passes the bound (422) where /proc shows it', async () => {
    // A bound below any node process's footprint: the watchdog must fire, whatever the SVG.
    const starved = rasteriseSvg(fixture(LOGO), 72 * 4, 50_000_000, 20, 8 * 1024 * 1024);
    if (process.platform === 'linux') {
      await assert.rejects(starved, (err: unknown) => err instanceof Unprocessable && /more than 8 MiB/.test(err.message));
    } else {
      assert.equal((await starved).info.width, 736 * 4, 'no /proc: time is the only bound');
    }
    const ok = await rasteriseSvg(fixture(LOGO), 72, 50_000_000, 20);
    assert.deepEqual([ok.info.width, ok.info.height, ok.data.length], [736, 552, 736 * 552 * 4]);
  });
});
