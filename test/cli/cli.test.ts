import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { SETTINGS } from '../../src/config/index.js';
import { LAUNCHER, ROOT, runCli, startServerProcess } from '../helpers/process.js';

describe('resizer CLI', () => {
  it('--help names every variable, serve --help every flag', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    const serve = await runCli(['serve', '--help']);
    assert.equal(serve.code, 0);
    for (const s of SETTINGS) {
      assert.ok(top.stdout.includes(s.env), `resizer --help lacks ${s.env}`);
      assert.ok(serve.stdout.includes(s.flag), `resizer serve --help lacks ${s.flag}`);
      assert.ok(serve.stdout.includes(s.env), `resizer serve --help lacks ${s.env}`);
    }
  });

  it('fails fast naming the flag or the variable', async () => {
    const flag = await runCli(['serve', '--port', 'abc']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Invalid --port/);
    const env = await runCli(['serve'], { RESIZER_MAX_INPUT_PIXELS: 'lots' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /Invalid RESIZER_MAX_INPUT_PIXELS/);
    const typo = await runCli(['serve'], { RESIZER_SORCE: 'x' });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /Unknown variable RESIZER_SORCE/);
    const folder = await runCli(['serve', '--source', '/nonexistent/folder']);
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /--source \/ RESIZER_SOURCE: folder "\/nonexistent\/folder" does not exist/);
    const unknown = await runCli(['serve', '--sauce', 'x']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown option '--sauce'/);
  });

  it('takes settings from env, with flags winning', async () => {
    const srv = await startServerProcess(['--port', '0', '--cache', 'none', '--source', 'demo/images'], {
      RESIZER_SOURCE: '/nonexistent', PORT: '1', HOST: '127.0.0.1', RESIZER_CACHE_CONTROL: 'public, max-age=5',
    });
    try {
      const res = await fetch(`${srv.url}/100x/dice.png`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=5');
      await res.arrayBuffer();
    } finally {
      await srv.stop();
    }
  });

  it('npm start serves the demo folder at /400x300/<demo image>', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts.start!;
    assert.match(start, /^bin\/resizer serve /);
    assert.match(start, /--port 8080/);
    const args = start.replace(/^bin\/resizer serve /, '').split(' ');
    // The last --port wins, so the test does not need port 8080 free.
    const srv = await startServerProcess([...args, '--port', '0', '--log-level', 'info'], { MALLOC_ARENA_MAX: undefined }, [LAUNCHER]);
    try {
      const res = await fetch(`${srv.url}/400x300/kleiber.jpg`);
      assert.equal(res.status, 200);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      assert.equal(meta.width, 400);
      assert.equal(meta.format, 'jpeg');
      // The launcher sets glibc's malloc settings and execs node: the server is its own process, no re-exec.
      const environ = readFileSync(`/proc/${srv.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), 'MALLOC_ARENA_MAX set by the launcher');
      assert.equal(srv.pid, srv.child.pid, 'the launcher execs node rather than starting a second process');
      const licences = await readFile(join(ROOT, 'demo/images/LICENSES.md'), 'utf8');
      assert.match(licences, /kleiber\.jpg.*CC-BY-SA-3\.0/);
    } finally {
      await srv.stop();
    }
  });
});
