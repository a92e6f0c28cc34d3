import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequest } from '../../src/errors/index.js';
import { validateKey } from '../../src/keys/index.js';
import { splitPath } from '../../src/url/path.js';

describe('splitPath', () => {
  it('splits the segment from a key that may contain slashes', () => {
    assert.deepEqual(splitPath('/200x200/2024/06/cat.jpg'), { segment: '200x200', key: '2024/06/cat.jpg' });
  });

  it('percent-decodes each part (spaces, unicode)', () => {
    assert.deepEqual(splitPath('/100x/my%20photos/caf%C3%A9.jpg'), { segment: '100x', key: 'my photos/café.jpg' });
  });

  const refused: Array<[string, string]> = [
    ['/400x300/../etc/passwd', 'dot-dot'],
    ['/400x300/a/./b.jpg', 'dot'],
    ['/400x300/%2e%2e/etc/passwd', 'encoded dot-dot'],
    ['/400x300/%2E%2E/secret.jpg', 'upper-case encoded dot-dot'],
    ['/400x300/a%2fb.jpg', 'encoded slash'],
    ['/400x300/a%5cb.jpg', 'encoded backslash'],
    ['/400x300/a\\..\\b.jpg', 'backslash'],
    ['/400x300/a%00.jpg', 'encoded NUL'],
    ['/400x300//etc/passwd', 'absolute key (empty segment)'],
    ['/400x300/a%0a.jpg', 'control character'],
    ['/400x300/%E0%A4%A', 'malformed percent-encoding'],
    ['/400x300', 'no key'],
    ['/400x300/', 'empty key'],
    ['400x300/a.jpg', 'relative path'],
  ];
  for (const [path, why] of refused) {
    it(`refuses ${why}: ${path}`, () => {
      assert.throws(() => splitPath(path), (err: unknown) => err instanceof BadRequest && err.status === 400);
    });
  }
});

describe('validateKey', () => {
  it('accepts ordinary nested keys', () => {
    assert.equal(validateKey('a/b c/d.e.jpg'), 'a/b c/d.e.jpg');
  });
  it('refuses keys over 1024 characters', () => {
    assert.throws(() => validateKey('a'.repeat(1025)), BadRequest);
  });
});
