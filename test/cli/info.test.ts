import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { SourceInfoReport } from '../../src/cli/info.js';
import { DEFAULTS } from '../../src/config/index.js';
import { buildApp } from '../../src/runtime.js';
import { runCli } from '../helpers/process.js';
import { FIXTURES } from '../helpers/server.js';

describe('resizer info', () => {
  let cache: string;
  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'resizer-info-'));
    const app = await buildApp({ ...DEFAULTS, source: FIXTURES, cache, logLevel: 'silent' }, pino({ level: 'silent' }));
    for (const url of ['/40x/png/icc-profile.png', '/20x20,cover,webp/png/icc-profile.png', '/30x/png/dice.png']) {
      assert.equal((await app.handle({ method: 'GET', url, headers: {} })).status, 200, url);
    }
  });
  after(async () => { await rm(cache, { recursive: true, force: true }); });

  const info = async (key: string, ...extra: string[]) => runCli(['info', key, '--source', FIXTURES, '--cache', cache, ...extra]);

  it('--json: format, dimensions, colour, ICC profile, frames, bytes and the derivatives stored for it', async () => {
    const r = await info('png/icc-profile.png', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as SourceInfoReport;
    assert.equal(report.format, 'png');
    assert.deepEqual([report.width, report.height, report.displayWidth, report.displayHeight], [48, 48, 48, 48]);
    assert.equal(report.bytes, (await stat(join(FIXTURES, 'png/icc-profile.png'))).size);
    assert.equal(report.space, 'srgb');
    assert.equal(report.hasAlpha, true);
    assert.equal(report.frames, 1);
    assert.ok(report.icc && report.icc.bytes > 0 && typeof report.icc.description === 'string' && report.icc.description.length > 0, JSON.stringify(report.icc));
    // Only this source's derivatives: dice.png's 30x is not listed.
    assert.deepEqual(report.derivatives.map((d) => [d.segment, d.url, d.contentType, d.width, d.height]), [
      ['20x20,cover,webp', '/20x20,cover,webp/png/icc-profile.png', 'image/webp', 20, 20],
      ['40x', '/40x/png/icc-profile.png', 'image/png', 40, 40],
    ]);
    assert.ok(report.derivatives.every((d) => d.bytes > 0));
  });

  it('reports EXIF orientation and animation frames', async () => {
    const turned = JSON.parse((await info('orientation/pillow/hopper_orientation_6.jpg', '--json')).stdout) as SourceInfoReport;
    assert.equal(turned.orientation, 6);
    assert.equal(turned.format, 'jpeg');
    assert.equal(turned.icc, null);
    const anim = JSON.parse((await info('anim/cogs.gif', '--json')).stdout) as SourceInfoReport;
    assert.equal(anim.frames, 5);
    assert.deepEqual(anim.derivatives, []);
  });

  it('prints a readable summary, and exits 1 naming a missing source', async () => {
    const r = await info('png/icc-profile.png');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^png\/icc-profile\.png in fs:/);
    assert.match(r.stdout, /dimensions {3}48x48\n/);
    assert.match(r.stdout, /icc {10}.+\(.*ICC v[\d.]+, \d+ bytes\)/);
    assert.match(r.stdout, /derivatives {2}2\n {4}\/20x20,cover,webp\/png\/icc-profile\.png {2}image\/webp 20x20 \d+ bytes/);
    const missing = await info('no/such.png');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: "no\/such\.png"/);
  });
});
