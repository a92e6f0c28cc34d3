import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accessRulesOf } from '../../src/config/access.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { runCli } from '../helpers/process.js';

const KEY = 'k'.repeat(16);
const fails = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message));

describe('access settings', () => {
  it('keys from the variable (comma-separated) and from a file, in that order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'resizer-keys-'));
    try {
      await writeFile(join(dir, 'keys'), `# rotation\n${'f'.repeat(20)}\n\n${'g'.repeat(20)}\n`);
      const c = loadConfig({ signingKeyFile: join(dir, 'keys') }, { RESIZER_SIGNING_KEYS: `${KEY}, ${'h'.repeat(16)}` });
      assert.deepEqual(accessRulesOf(c).signingKeys, [KEY, 'h'.repeat(16), 'f'.repeat(20), 'g'.repeat(20)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses short keys, unreadable key files, bad presets, segments and lists, naming the setting', () => {
    fails(() => loadConfig({}, { RESIZER_SIGNING_KEYS: 'short' }), /RESIZER_SIGNING_KEYS.*16 characters/);
    fails(() => loadConfig({ signingKeyFile: '/no/such/file' }, {}), /--signing-key-file.*ENOENT/);
    fails(() => loadConfig({ presets: 'cover=10x' }, {}), /--preset/);
    fails(() => loadConfig({}, { RESIZER_ALLOWED_SEGMENTS: '10y' }), /RESIZER_ALLOWED_SEGMENTS/);
    fails(() => loadConfig({ allowedWidths: '10,abc' }, {}), /--allowed-widths/);
    fails(() => loadConfig({ presetsOnly: 'true' }, {}), /--presets-only.*needs at least one --preset/);
  });

  it('the production profile refuses an open server, by flag or NODE_ENV', () => {
    fails(() => loadConfig({ production: 'true' }, {}), /--production.*signing key/);
    fails(() => loadConfig({}, { NODE_ENV: 'production' }), /NODE_ENV.*signing key/);
    assert.equal(loadConfig({}, { NODE_ENV: 'production', RESIZER_SIGNING_KEYS: KEY }).production, true);
    assert.equal(loadConfig({ allowedWidths: '100' }, { NODE_ENV: 'production' }).production, true);
    assert.equal(loadConfig({ production: 'false' }, { NODE_ENV: 'production' }).production, false, 'an explicit flag wins');
  });

  it('repeated flags on the command line add up', async () => {
    const res = await runCli(['serve', '--production', '--preset', 'cover=1x', '--port', '0']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /--preset/);
    const many = await runCli(['serve', '--production', '--signing-key', 'short', '--signing-key', KEY, '--port', '0']);
    assert.equal(many.code, 2);
    assert.match(many.stderr, /Invalid --signing-key: expected keys of at least 16/);
    assert.match(many.stderr, /"short,k{16}"/);
  });
});
