import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildUrl, canonicalSegment, signPath, srcset } from '../../src/url/builder.js';
import { rawRequest } from '../helpers/http.js';
import { runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const KEY = 'builder-test-key-0123456789';
const IMAGE = 'orientation/pillow/hopper.jpg';
const SRC = new URL('../../src/', import.meta.url).pathname;

/** Every module the builder loads, following relative imports through the TypeScript sources. */
function importGraph(entry: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(entry)) return seen;
  const text = readFileSync(entry, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '')
    .concat([...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? ''));
  seen.set(entry, specifiers);
  for (const s of specifiers) if (s.startsWith('.')) importGraph(resolve(dirname(entry), s.replace(/\.js$/, '.ts')), seen);
  return seen;
}

describe('the URL builder', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer({ signingKeys: KEY, presets: 'thumb=40x40,cover' }); });
  after(async () => { await srv.close(); });

  it('imports nothing Node-only: runs in a browser', () => {
    const graph = importGraph(join(SRC, 'url/builder.ts'));
    const external = [...graph.values()].flat().filter((s) => !s.startsWith('.'));
    assert.ok(external.length > 0);
    assert.deepEqual(external.filter((s) => !s.startsWith('@noble/hashes/')), [], 'only @noble/hashes outside the package');
    for (const file of graph.keys()) assert.doesNotMatch(readFileSync(file, 'utf8'), /\b(process\.|Buffer\b|require\()/, file);
  });

  it('builds canonical paths from specs or option strings', () => {
    assert.equal(buildUrl('a b/ü.jpg', { width: 300, height: 200, fit: 'cover', format: 'webp' }), '/300x200,cover,webp/a%20b/%C3%BC.jpg');
    assert.equal(buildUrl('/cat.jpg', 'webp,0300x', { base: 'https://img.example' }), 'https://img.example/300x,webp/cat.jpg');
    assert.equal(canonicalSegment({}), 'original');
    assert.throws(() => buildUrl('../x.jpg', {}));
    assert.equal(srcset('cat.jpg', [100, 200], { format: 'avif' }), '/100x,avif/cat.jpg 100w, /200x,avif/cat.jpg 200w');
  });

  it('signed URLs and srcsets it builds are served', async () => {
    const url = buildUrl(IMAGE, { width: 30, format: 'webp' }, { base: srv.url, signingKey: KEY, expires: Math.floor(Date.now() / 1000) + 60 });
    assert.match(url, /\/s-[A-Za-z0-9_-]{43}-\d+\/30x,webp\//);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    for (const entry of srcset(IMAGE, [20, 40], {}, { base: srv.url, signingKey: KEY }).split(', ')) {
      const [u, w] = entry.split(' ');
      const img = await fetch(u ?? '');
      assert.equal(img.status, 200);
      assert.equal(`${(await sharp(Buffer.from(await img.arrayBuffer())).metadata()).width}w`, w);
    }
  });

  it('signPath expands presets and signs what the server checks', async () => {
    const path = signPath(`/thumb/${IMAGE}`, KEY, { presets: new Map([['thumb', '40x40,cover']]) });
    assert.match(path, /^\/s-[^/]+\/40x40,cover\//);
    assert.equal((await rawRequest(srv.url, path)).status, 200);
  });

  it('is the package export resizer/url (built)', async () => {
    const mod = await import('resizer/url') as typeof import('../../src/url/builder.js');
    assert.equal(mod.buildUrl('x.jpg', '10x'), '/10x/x.jpg');
  });

  it('resizer sign prints a signed path the server accepts', async () => {
    const out = await runCli(['sign', `/20x,png/${IMAGE}`, '--expires-in', '60'], { RESIZER_SIGNING_KEYS: KEY });
    assert.equal(out.code, 0, out.stderr);
    const path = out.stdout.trim();
    assert.match(path, /^\/s-[A-Za-z0-9_-]{43}-\d+\/20x,png\//);
    assert.equal((await rawRequest(srv.url, path)).status, 200);
    const tampered = path.replace('20x,png', '21x,png');
    assert.equal((await rawRequest(srv.url, tampered)).status, 403);
    const nokey = await runCli(['sign', `/20x/${IMAGE}`]);
    assert.equal(nokey.code, 2);
    assert.match(nokey.stderr, /no signing key/);
  });
});
