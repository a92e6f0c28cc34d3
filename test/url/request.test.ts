import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULTS } from '../../src/config/index.js';
import { pathOf, splitPath } from '../../src/url/path.js';
import { buildPath } from '../../src/url/request.js';
import { buildSegment, parseSegment } from '../../src/url/segment.js';

describe('buildPath, the inverse of parsing a path', () => {
  it('round-trips the canonical spec and the key, keeping the segment literal', () => {
    for (const [segment, key] of [
      ['w300,h200,cover,webp', '2024/06/cat.jpg'],
      ['400x,q70,jpg', 'odd/été photo 100%.png'],
      ['r90,flop,blur2,bg-f80', 'a+b/c#d?.gif'],
    ] as const) {
      const spec = parseSegment(segment, DEFAULTS);
      const path = buildPath(spec, key);
      const split = splitPath(path);
      assert.equal(split.key, key, path);
      assert.equal(split.segment, buildSegment(spec), 'the canonical segment, not percent-encoded');
      assert.equal(buildSegment(parseSegment(split.segment, DEFAULTS)), split.segment);
      assert.equal(path, pathOf(buildSegment(spec), key));
      assert.ok(!path.includes('%2C'), path);
    }
  });
});
