import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULTS, loadConfig, SETTINGS } from '../../src/config/index.js';

describe('loadConfig', () => {
  it('starts from the defaults', () => {
    assert.deepEqual(loadConfig({}, {}), DEFAULTS);
  });

  it('reads the documented variables', () => {
    const c = loadConfig({}, { RESIZER_SOURCE: '/srv/img', RESIZER_CACHE: 'none', PORT: '9000', HOST: '0.0.0.0' });
    assert.equal(c.source, '/srv/img');
    assert.equal(c.cache, 'none');
    assert.equal(c.port, 9000);
    assert.equal(c.host, '0.0.0.0');
  });

  it('lets flags win over env', () => {
    const c = loadConfig({ port: '7000', source: 'flag-dir' }, { PORT: '9000', RESIZER_SOURCE: 'env-dir' });
    assert.equal(c.port, 7000);
    assert.equal(c.source, 'flag-dir');
  });

  it('names the variable when an env value is invalid', () => {
    assert.throws(() => loadConfig({}, { PORT: 'eighty' }), (e: unknown) => e instanceof ConfigError && /PORT/.test(e.message));
    assert.throws(() => loadConfig({}, { RESIZER_CONCURRENCY: '0' }), (e: unknown) => e instanceof ConfigError && /RESIZER_CONCURRENCY/.test(e.message));
  });

  it('names the flag when a flag value is invalid', () => {
    assert.throws(() => loadConfig({ maxInputPixels: '-5' }, {}), (e: unknown) => e instanceof ConfigError && /--max-input-pixels/.test(e.message));
    assert.throws(() => loadConfig({ port: '70000' }, {}), (e: unknown) => e instanceof ConfigError && /--port/.test(e.message));
  });

  it('refuses unknown RESIZER_ variables instead of ignoring a typo', () => {
    assert.throws(() => loadConfig({}, { RESIZER_SOURCES: 'x' }), (e: unknown) => e instanceof ConfigError && /RESIZER_SOURCES/.test(e.message));
  });

  it('reads the background re-encode settings, and refuses a quality target outside (0.5, 1)', () => {
    assert.equal(DEFAULTS.optimise, 'idle');
    const c = loadConfig({ qualityTarget: '0.97' }, { RESIZER_OPTIMISE: 'off', RESIZER_PROVISIONAL_CACHE_CONTROL: 'public, max-age=60' });
    assert.equal(c.optimise, 'off');
    assert.equal(c.qualityTarget, 0.97);
    assert.equal(c.provisionalCacheControl, 'public, max-age=60');
    assert.throws(() => loadConfig({ qualityTarget: '1.5' }, {}), (e: unknown) => e instanceof ConfigError && /--quality-target/.test(e.message));
    assert.throws(() => loadConfig({}, { RESIZER_OPTIMISE: 'later' }), (e: unknown) => e instanceof ConfigError && /RESIZER_OPTIMISE/.test(e.message));
  });

  it('documents every setting with a flag and a variable', () => {
    for (const key of Object.keys(DEFAULTS)) {
      const s = SETTINGS.find((x) => x.key === key);
      assert.ok(s, `setting ${key} has no flag/variable`);
      assert.match(s.flag, /^--[a-z0-9-]+$/);
      assert.match(s.env, /^[A-Z][A-Z0-9_]+$/);
      assert.ok(s.help.length > 5);
    }
  });
});
