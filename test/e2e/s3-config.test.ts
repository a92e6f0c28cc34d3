import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { s3SettingsOf } from '../../src/storage/open.js';

function refused(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
}

describe('S3 and delivery settings', () => {
  it('default to streaming, no revalidation, virtual-host S3 URLs', () => {
    const c = loadConfig({}, {});
    assert.equal(c.delivery, 'stream');
    assert.equal(c.revalidateSeconds, 0);
    assert.deepEqual(s3SettingsOf(c), { forcePathStyle: false, timeoutMs: 5000, maxAttempts: 3 });
  });

  it('read the documented variables', () => {
    const c = loadConfig({}, {
      RESIZER_DELIVERY: 'redirect', RESIZER_PUBLIC_BASE: 'https://cdn.example.com/img/', RESIZER_REVALIDATE_SECONDS: '300',
      RESIZER_S3_FORCE_PATH_STYLE: 'true', RESIZER_S3_TIMEOUT_MS: '2500', RESIZER_S3_MAX_ATTEMPTS: '5',
      RESIZER_SOURCE: 's3://img-sources', RESIZER_CACHE: 's3://img-resized/v1',
    });
    assert.equal(c.delivery, 'redirect');
    assert.equal(c.publicBase, 'https://cdn.example.com/img', 'a trailing slash would double in the Location');
    assert.equal(c.revalidateSeconds, 300);
    assert.deepEqual(s3SettingsOf(c), { forcePathStyle: true, timeoutMs: 2500, maxAttempts: 5 });
    assert.equal(loadConfig({}, { RESIZER_S3_FORCE_PATH_STYLE: '0' }).s3ForcePathStyle, false);
  });

  it('refuse redirect delivery without a public base or without a store, naming the setting', () => {
    refused(() => loadConfig({ delivery: 'redirect' }, {}), /--public-base \/ RESIZER_PUBLIC_BASE: required/);
    refused(() => loadConfig({ delivery: 'redirect', publicBase: 'https://x.example', cache: 'none' }, {}), /--cache: redirect delivery needs a derivative store/);
    refused(() => loadConfig({}, { RESIZER_PUBLIC_BASE: 'ftp://x.example' }), /RESIZER_PUBLIC_BASE: expected an http\(s\) URL/);
    refused(() => loadConfig({}, { RESIZER_DELIVERY: 'teleport' }), /RESIZER_DELIVERY/);
    refused(() => loadConfig({}, { RESIZER_S3_FORCE_PATH_STYLE: 'maybe' }), /RESIZER_S3_FORCE_PATH_STYLE: expected true or false/);
    refused(() => loadConfig({ s3MaxAttempts: '0' }, {}), /--s3-max-attempts/);
    refused(() => loadConfig({ source: 's3://Bad_Bucket/x' }, {}), /Invalid --source: .*expected s3:\/\/bucket/);
    refused(() => loadConfig({}, { RESIZER_CACHE: 's3://' }), /Invalid RESIZER_CACHE: .*expected s3:\/\/bucket/);
  });
});
