import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import vm from 'node:vm';
import { parse } from 'acorn';
import { CLOUDFRONT_FUNCTION_MAX_BYTES, viewerRequestCode } from '../../deploy/aws/lib/viewer-request-code.js';
import { DEFAULTS } from '../../src/config/index.js';
import { negotiateFormat } from '../../src/ops/auto-format.js';
import type { ParseLimits } from '../../src/ops/spec.js';
import { buildSegment, parseSegment } from '../../src/url/segment.js';

const LIMITS: ParseLimits = { maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight };

interface CfResult { uri?: string; statusCode?: number }
type Handler = (event: unknown) => CfResult;

/** The function as CloudFront runs it: a script in a fresh context, `handler` called with the viewer-request event. */
function load(code: string, setup = ''): Handler {
  const context = vm.createContext({});
  vm.runInContext(setup, context);
  return vm.runInContext(`${code}\nhandler`, context) as Handler;
}

function viewerEvent(uri: string, accept: string | undefined): unknown {
  return {
    version: '1.0',
    context: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: 'EXAMPLE' },
    viewer: { ip: '198.51.100.11' },
    request: {
      method: 'GET', uri, querystring: {}, cookies: {},
      headers: { host: { value: 'd111111abcdef8.cloudfront.net' }, ...(accept === undefined ? {} : { accept: { value: accept } }) },
    },
  };
}

/** What the core makes of the URL: its canonical segment and the key as it is encoded at the CDN, or unchanged if it refuses it. */
function coreUri(uri: string, accept: string | undefined): string {
  const slash = uri.indexOf('/', 1);
  try {
    const { spec } = negotiateFormat(parseSegment(decodeURIComponent(uri.slice(1, slash)), LIMITS), accept);
    const key = uri.slice(slash + 1).split('/').map((p) => encodeURIComponent(decodeURIComponent(p))).join('/');
    return `/${buildSegment(spec)}/${key}`;
  } catch {
    return uri;
  }
}

/** Deterministic, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Canonical names, every alias, spellings the canonical form rewrites, and a few the grammar refuses.
const TOKENS = [
  '400x300', '0400x0300', '400x', 'x300', 'w640', 'h480', '8192x8192', '8193x10', '0x10', 'x', '12x34',
  'cover', 'contain', 'fill', 'inside', 'outside',
  'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center', 'centre',
  'top', 'bottom', 'left', 'right', 'top-left', 'top-right', 'bottom-left', 'bottom-right', 'attention', 'entropy', 'smart',
  'fp-0.25-0.75', 'fp-0.5-0.50', 'fp-1-0', 'fp-2-0',
  'enlarge', 'upscale', 'dpr1', 'dpr2', 'dpr1.50', '@2x', '@1x', 'dpr9',
  'trim', 'r90', 'rot180', 'r270', 'r45', 'flip', 'flop', 'mirror',
  'blur5', 'blur0.3', 'blur0.50', 'blur200', 'sharpen', 'sharp', 'bg-fff', 'bg-FFFFFF', 'bg-12abEF', 'bg-12345',
  'jpeg', 'jpg', 'png', 'webp', 'avif', 'gif', 'auto', 'auto', 'auto',
  'q80', 'q60', 'q1', 'q100', 'q0', 'q7x', 'lossless', 'progressive', 'interlace', 'keepicc', 'keep-icc', 'original',
  'foo', '',
];
const KEYS = ['a.jpg', '2024/06/cat.jpg', 'a%20b.jpg', 'caf%C3%A9.png', 'dir/%E2%9C%93/x.webp', 'x+y.gif', '100%25.jpg', 'a%2Fb.jpg', "it's(1).jpg"];
const ACCEPTS = [
  undefined, '', '*/*', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'image/webp,*/*', 'image/avif',
  'image/avif;q=0, image/webp', 'image/webp;q=0.5,image/avif;q=0', 'IMAGE/WEBP', 'text/html,application/xhtml+xml,image/*',
];

function generate(n: number): Array<{ uri: string; accept: string | undefined }> {
  const r = random(20260611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: n }, () => {
    const tokens = Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(TOKENS));
    // A third ask for `auto` with a size, at a random place among the rest.
    if (r() < 0.33) tokens.splice(Math.floor(r() * tokens.length), 0, 'auto', pick(['300x', 'x200', 'w64']));
    const roll = r();
    // Some clients encode the commas, some the whole segment.
    const segment = roll < 0.1 ? tokens.join('%2C') : roll < 0.15 ? encodeURIComponent(tokens.join(',')) : tokens.join(',');
    return { uri: `/${segment}/${pick(KEYS)}`, accept: pick(ACCEPTS) };
  });
}

describe('the CloudFront viewer-request function, generated from the core grammar', () => {
  let code: string;
  before(async () => { code = await viewerRequestCode(LIMITS); });

  it(`is under CloudFront's ${CLOUDFRONT_FUNCTION_MAX_BYTES} bytes and is ES5.1 syntax, which cloudfront-js-2.0 runs in full`, () => {
    assert.ok(Buffer.byteLength(code) <= CLOUDFRONT_FUNCTION_MAX_BYTES, `${Buffer.byteLength(code)} bytes`);
    assert.doesNotThrow(() => parse(code, { ecmaVersion: 5, sourceType: 'script' }));
    assert.match(code, /function handler\(\w+\)/);
  });

  const runtimes: Array<[string, string]> = [
    ['with the runtime\'s Map, Set and Object.entries', ''],
    ['without them and ES2015\'s string and array methods (the stand-ins)', [
      'delete globalThis.Map; delete globalThis.Set; delete Object.entries; delete Object.fromEntries; delete globalThis.Symbol;',
      'delete String.prototype.startsWith; delete String.prototype.endsWith; delete String.prototype.includes;',
      'delete Array.prototype.includes; delete Array.prototype.find;',
    ].join('\n')],
  ];
  for (const [name, setup] of runtimes) {
    it(`equals the core's canonical URL on 6,000 generated URLs, ${name}`, () => {
      const handler = load(code, setup);
      let canonicalised = 0;
      let auto = 0;
      for (const { uri, accept } of generate(6000)) {
        const expected = coreUri(uri, accept);
        const out = handler(viewerEvent(uri, accept));
        assert.equal(out.uri, expected, `${uri} with Accept ${JSON.stringify(accept)}`);
        if (expected !== uri) canonicalised++;
        if (uri.includes('auto') && expected !== uri) auto++;
      }
      // The sample must exercise both sides: URLs the grammar rewrites and URLs it refuses, and `auto` often.
      assert.ok(canonicalised > 1800 && canonicalised < 5800, `${canonicalised} of 6000 rewritten`);
      assert.ok(auto > 500, `${auto} auto URLs resolved`);
    });
  }

  it('turns auto into the format Accept allows, the same as the Lambda would', () => {
    const handler = load(code);
    assert.equal(handler(viewerEvent('/300x,auto/a.jpg', 'image/avif,image/webp,*/*')).uri, '/300x,avif/a.jpg');
    assert.equal(handler(viewerEvent('/auto,300x/a.jpg', 'image/webp,*/*')).uri, '/300x,webp/a.jpg');
    assert.equal(handler(viewerEvent('/300x,auto/a.jpg', '*/*')).uri, '/300x/a.jpg');
    assert.equal(handler(viewerEvent('/300x,auto/a.jpg', undefined)).uri, '/300x/a.jpg');
  });

  it('refuses service paths at the edge', () => {
    const handler = load(code);
    for (const uri of ['/_/healthz', '/_', '/_/metrics']) {
      // Through JSON: the object comes from the function's own realm.
      assert.deepEqual(JSON.parse(JSON.stringify(handler(viewerEvent(uri, undefined)))), { statusCode: 404, statusDescription: 'Not Found' });
    }
  });

  it('takes the Lambda\'s size limits', async () => {
    const small = load(await viewerRequestCode({ maxOutputWidth: 1000, maxOutputHeight: 1000 }));
    assert.equal(small(viewerEvent('/0999x/a.jpg', undefined)).uri, '/999x/a.jpg');
    assert.equal(small(viewerEvent('/1001x/a.jpg', undefined)).uri, '/1001x/a.jpg', 'refused: left for the Lambda to answer 400');
  });
});
