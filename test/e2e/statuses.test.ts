// Honest statuses: a server fault is a logged 500 with no detail for the client, and a broken cache folder is a
// logged miss, never a 503 with Retry-After. Permissions do not bind root, so when the tests run as root the
// server runs without the capabilities that override them (setpriv), still as root, so it can read its own files.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { sourceDir } from '../helpers/sources.js';

const DROP = '-dac_override,-dac_read_search';
const command = userInfo().uid === 0
  ? ['setpriv', `--bounding-set=${DROP}`, `--inh-caps=${DROP}`, process.execPath, BIN]
  : [process.execPath, BIN];

describe('statuses of storage faults', () => {
  let src: string;
  let cache: string;
  let srv: ServerProcess;
  before(async () => {
    src = await sourceDir({ 'ok.png': 'png/rgba.png', 'secret.png': 'png/rgba.png', 'cached.png': 'png/rgba.png', 'ro/a.png': 'png/rgba.png' });
    await chmod(src, 0o755);
    await chmod(join(src, 'ro'), 0o755);
    await chmod(join(src, 'secret.png'), 0o000);
    cache = await mkdtemp(join(tmpdir(), 'resizer-cache-'));
    // A derivative nobody can read, as left by another user or a bad restore.
    await mkdir(join(cache, '20x'));
    await writeFile(join(cache, '20x', 'cached.png'), 'x');
    await chmod(join(cache, '20x', 'cached.png'), 0o000);
    // A segment folder the server cannot write into.
    await mkdir(join(cache, '30x', 'ro'), { recursive: true });
    await chmod(join(cache, '30x', 'ro'), 0o555);
    srv = await startServerProcess(['--source', src, '--cache', cache, '--port', '0', '--log-level', 'info'], {}, command);
  });
  after(async () => {
    await srv.stop();
    await rm(src, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it('an unreadable source is a 500 with a generic message, logged with its cause', async () => {
    const res = await fetch(`${srv.url}/50x/secret.png`);
    const body = await res.text();
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('retry-after'), null);
    assert.doesNotMatch(body, /EACCES|\/tmp|resizer-src|secret/);
    await waitForLog(srv, /"level":50.*EACCES/);
  });

  it('an unreadable derivative is a logged miss: the image is made again and served', async () => {
    const res = await fetch(`${srv.url}/20x/cached.png`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache'), 'MISS');
    assert.equal(res.headers.get('content-type'), 'image/png');
    await waitForLog(srv, /derivative read failed; treated as a miss/);
  });

  it('a cache folder that cannot be written: the image is served and the failure logged', async () => {
    const res = await fetch(`${srv.url}/30x/ro/a.png`);
    assert.equal(res.status, 200);
    await waitForLog(srv, /derivative write failed/);
    assert.equal((await fetch(`${srv.url}/_/healthz`)).status, 200);
    assert.equal((await fetch(`${srv.url}/50x/ok.png`)).status, 200);
  });
});

async function waitForLog(srv: ServerProcess, pattern: RegExp): Promise<void> {
  const until = Date.now() + 3000;
  while (!pattern.test(srv.log())) {
    if (Date.now() > until) assert.fail(`no log line matching ${pattern}:\n${srv.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
