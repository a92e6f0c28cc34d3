import assert from 'node:assert/strict';
import { mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../helpers/http.js';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

let srv: TestServer;
let src: string;
let outside: string;

before(async () => {
  src = await sourceDir({ 'inside/ok.jpg': 'orientation/pillow/hopper.jpg' });
  // A real image outside the source root: if any request below reached it, it would come back as a 200.
  outside = await sourceDir({ 'secret.jpg': 'orientation/pillow/hopper.jpg' });
  await symlink(join(outside, 'secret.jpg'), join(src, 'link-out.jpg'));
  await symlink(outside, join(src, 'dir-out'));
  await symlink(join(src, 'inside/ok.jpg'), join(src, 'link-in.jpg'));
  await mkdir(join(src, 'sub'), { recursive: true });
  srv = await startTestServer({ source: join(src) });
});
after(async () => {
  await srv.close();
  await rm(src, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

const rel = () => outside.split('/').filter(Boolean).length;

describe('the source store cannot be escaped', () => {
  const attempts = (): string[] => {
    const up = '../'.repeat(rel() + 2);
    const secret = `${outside.slice(1)}/secret.jpg`;
    return [
      `/100x100/${up}${secret}`,
      `/100x100/inside/../../${secret}`,
      `/100x100/%2e%2e/%2e%2e/%2e%2e/%2e%2e/${secret}`,
      `/100x100/%2E%2E%2F%2E%2E%2F${secret}`,
      `/100x100/..%2f..%2f..%2f${secret}`,
      `/100x100/..%5c..%5c${secret}`,
      `/100x100/inside\\..\\..\\secret.jpg`,
      `/100x100/ok.jpg%00.png`,
      `/100x100//${secret}`,
      `/100x100/%2f${secret}`,
      `/100x100/link-out.jpg`,
      `/100x100/dir-out/secret.jpg`,
    ];
  };

  it('refuses traversal, encoded traversal, backslashes, NUL, absolute paths and escaping symlinks', async () => {
    for (const path of attempts()) {
      const res = await rawRequest(srv.url, path);
      assert.ok(res.status === 400 || res.status === 404, `${path} -> ${res.status}`);
    }
  });

  it('still follows symlinks that stay inside the root', async () => {
    const res = await rawRequest(srv.url, '/100x100/link-in.jpg');
    assert.equal(res.status, 200);
    const meta = await sharp(res.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 100, 100]);
  });

  it('treats a directory as no image', async () => {
    const res = await rawRequest(srv.url, '/100x100/sub');
    assert.equal(res.status, 404);
  });

  it('never writes outside the cache root', async () => {
    const around = dirname(srv.cacheDir);
    const before = (await readdir(around)).sort();
    for (const path of ['/..%2f..%2fevil/inside/ok.jpg', '/../inside/ok.jpg', '/100x100/inside/../../evil.jpg', '/100x100/%2e%2e/evil.jpg', '/100x,..%2f..%2fevil/inside/ok.jpg']) {
      const res = await rawRequest(srv.url, path);
      assert.ok(res.status === 400 || res.status === 404, `${path} -> ${res.status}`);
    }
    // Only the derivatives the tests above asked for, under their canonical segment.
    assert.deepEqual((await readdir(srv.cacheDir)).filter((n) => !n.startsWith('.')), ['100x100']);
    // Nothing new beside the cache root but other tests' own temp folders.
    const added = (await readdir(around)).filter((n) => !before.includes(n) && !n.startsWith('resizer-'));
    assert.deepEqual(added, []);
  });
});
