import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nginxFrontServer, nginxMainConfig } from '../../deploy/nginx/config.js';
import { rawRequest, type RawResponse } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FULL = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=600';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Debian's nginx as a real process running deploy/nginx/resizer.conf, everything in a temp folder. */
async function startNginx(cacheDir: string, resizer: string): Promise<{ base: string; child: ChildProcess; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'resizer-nginx-'));
  const port = await freePort();
  const server = nginxFrontServer({ listen: `127.0.0.1:${port}`, cacheDir, resizer, cacheControl: FULL });
  await writeFile(join(dir, 'nginx.conf'), nginxMainConfig(dir, server));
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) assert.fail(`nginx exited ${child.exitCode}: ${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`);
    try {
      await rawRequest(base, '/_/healthz');
      return { base, child, dir };
    } catch {
      if (Date.now() > until) throw new Error('nginx did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Served by nginx from the cache folder: resizer sets X-Cache on every image it answers, nginx never does. */
function byNginx(res: RawResponse): boolean {
  return res.headers['x-cache'] === undefined;
}

/**
 * The hit once nginx serves it. nginx remembers that a name did not exist for open_file_cache_valid (1 s in
 * resizer.conf), so right after a miss resizer may still answer: every answer meanwhile must be the same bytes.
 */
async function hitFromNginx(base: string, path: string, bytes: Buffer): Promise<RawResponse> {
  const until = Date.now() + 3_000;
  for (;;) {
    const res = await rawRequest(base, path);
    assert.equal(res.status, 200);
    assert.ok(res.body.equals(bytes), `the same bytes (${byNginx(res) ? 'nginx' : 'resizer'})`);
    if (byNginx(res)) return res;
    assert.ok(Date.now() < until, 'nginx serves a final derivative within 3 s of the miss');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('nginx front: hits from the cache folder, misses by resizer (deploy/nginx/resizer.conf)', () => {
  let resizer: TestServer;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  before(async () => {
    resizer = await startTestServer({ optimise: 'idle', qualityTarget: 0.95, provisionalCacheControl: SHORT, memoryCacheMb: 0 });
    nginx = await startNginx(resizer.cacheDir, new URL(resizer.url).host);
  });
  after(async () => {
    nginx.child.kill('SIGTERM');
    await new Promise((r) => nginx.child.once('exit', r));
    await rm(nginx.dir, { recursive: true, force: true });
    await resizer.close();
  });

  it('a final derivative: the miss from resizer, then the hit from nginx, same bytes, the right Content-Type', async () => {
    // The key says .jpg, the bytes are WebP; an explicit qN is final at once.
    const path = '/300x200,webp,q70/photos/issue70.jpg';
    const miss = await rawRequest(nginx.base, path);
    assert.equal(miss.status, 200);
    assert.equal(miss.headers['x-cache'], 'MISS');
    const hit = await hitFromNginx(nginx.base, path, miss.body);
    assert.equal(hit.headers['content-type'], 'image/webp');
    assert.equal(hit.headers['cache-control'], FULL);
    assert.equal(hit.headers['x-content-type-options'], 'nosniff');
    assert.equal(hit.headers['content-length'], String(miss.body.length));
  });

  it('a source whose default output is another format (SVG to PNG) is served as that format', async () => {
    const path = '/64x/svg/logo.svg';
    const miss = await rawRequest(nginx.base, path);
    assert.equal(miss.headers['content-type'], 'image/png');
    const hit = await hitFromNginx(nginx.base, path, miss.body);
    assert.equal(hit.headers['content-type'], 'image/png');
  });

  it('a provisional derivative stays with resizer (short Cache-Control) until its re-encode is final', async () => {
    const path = '/300x200,avif/photos/issue70.jpg';
    const miss = await rawRequest(nginx.base, path);
    assert.equal(miss.headers['cache-control'], SHORT);
    // Past open_file_cache_valid, so that nginx looks for the file again rather than remembering the miss's "not found":
    // had the provisional bytes been linked for it, nginx would serve them now.
    await new Promise((r) => setTimeout(r, 1_500));
    const again = await rawRequest(nginx.base, path);
    assert.equal(again.headers['x-cache'], 'HIT', 'resizer, not nginx, answers for provisional bytes');
    assert.equal(again.headers['cache-control'], SHORT);
    await resizer.app.optimiser?.drained();
    const hit = await hitFromNginx(nginx.base, path, await readFile(join(resizer.cacheDir, path.slice(1))));
    assert.equal(hit.headers['content-type'], 'image/avif');
    assert.equal(hit.headers['cache-control'], FULL);
    assert.ok(hit.body.length < miss.body.length, 'the re-encoded bytes');
  });

  it('keeps serving hits with resizer stopped, and a non-canonical spelling goes to resizer', async () => {
    const before = await rawRequest(nginx.base, '/0300x0200,webp,q70/photos/issue70.jpg');
    assert.equal(before.headers['x-cache'], 'HIT', 'resizer made the spelling canonical and served its stored derivative');
    await new Promise<void>((r) => resizer.server.close(() => r()));
    resizer.server.closeAllConnections();
    const hit = await rawRequest(nginx.base, '/300x200,webp,q70/photos/issue70.jpg');
    assert.equal(hit.status, 200);
    assert.ok(hit.body.equals(before.body));
    const miss = await rawRequest(nginx.base, '/310x200,webp/photos/issue70.jpg');
    assert.equal(miss.status, 502, 'a miss needs resizer');
  });
});
