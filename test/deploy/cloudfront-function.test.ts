import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { before, describe, it } from 'node:test';
import vm from 'node:vm';
import { parse, type Node } from 'acorn';
import {
  CLOUDFRONT_FUNCTION_MAX_BYTES, KVS_ID_PLACEHOLDER, SIGNING_KEYS_KVS_KEY, viewerRequestCode,
} from '../../deploy/aws/lib/viewer-request-code.js';
import { cdnPath } from '../../src/cdn/viewer-request.js';
import { DEFAULTS } from '../../src/config/index.js';
import { accessRulesOf } from '../../src/config/access.js';
import { Forbidden } from '../../src/errors/index.js';
import type { ParseLimits } from '../../src/ops/spec.js';
import { buildUrl } from '../../src/url/builder.js';
import { RequestGate, type AccessRules } from '../../src/url/gate.js';
import { nodeHmac } from '../../src/url/node-hmac.js';
import { encodeKey } from '../../src/url/path.js';
import { parseImagePath } from '../../src/url/request.js';
import { buildSegment } from '../../src/url/segment.js';
import { EDGE_SIGNATURE_HEADER, signatureSegment } from '../../src/url/signature.js';

const LIMITS: ParseLimits = { maxOutputWidth: DEFAULTS.maxOutputWidth, maxOutputHeight: DEFAULTS.maxOutputHeight };
const NEW = 'new-key-fedcba9876543210';
const OLD = 'old-key-0123456789abcdef';
const WRONG = 'not-a-key-0000000000000';
const NOW = () => Math.floor(Date.now() / 1000);

/** The access settings as the Lambda's config has them (RESIZER_PRESETS, RESIZER_ALLOWED_*), through the server's own parser. */
const RULES: AccessRules = accessRulesOf({
  signingKeys: '', signingKeyFile: '', presets: 'thumb=150x150,cover,webp;card=600x400,cover,auto', allowedWidths: '320,640',
  allowedHeights: '', allowedSegments: '400x300,webp;x200,png', presetsOnly: false, production: false, ...LIMITS,
});

interface CfResult { uri?: string; statusCode?: number; headers?: Record<string, { value: string }> }
type Handler = (event: unknown) => CfResult | Promise<CfResult>;
const IMPORTS = /^import crypto from"crypto";import cf from"cloudfront";/;

/**
 * cloudfront-js-2.0's crypto module, backed by node:crypto, with only the digests its documentation lists
 * (hex, base64), so the function cannot lean on Node's base64url.
 */
const edgeCrypto = {
  createHmac: (algorithm: string, key: string) => {
    const h = createHmac(algorithm, key);
    const api = {
      update: (m: string) => { h.update(m); return api; },
      digest: (encoding: string) => {
        if (encoding !== 'hex' && encoding !== 'base64') throw new Error(`digest encoding ${encoding} is not documented`);
        return h.digest(encoding);
      },
    };
    return api;
  },
};

/** The `cloudfront` module with one KeyValueStore: `get` rejects for a missing key, as the runtime's does. */
function cloudfrontModule(store: Map<string, string>) {
  return {
    kvs: (id: string) => {
      assert.equal(id, KVS_ID_PLACEHOLDER);
      return { get: async (key: string) => { if (!store.has(key)) throw new Error(`key not found: ${key}`); return store.get(key)!; } };
    },
  };
}

/** The function as CloudFront runs it: the code in a fresh context (its two imports bound to the stand-ins), `handler` called with the event. */
function load(code: string, setup = '', store?: Map<string, string>): Handler {
  const context = vm.createContext({});
  vm.runInContext(setup, context);
  let script = code;
  if (store) {
    assert.match(code, IMPORTS);
    Object.assign(context, { crypto: edgeCrypto, cf: cloudfrontModule(store) });
    script = code.replace(IMPORTS, '');
  }
  return vm.runInContext(`${script}\nhandler`, context) as Handler;
}

function viewerEvent(uri: string, accept: string | undefined, extra: Record<string, { value: string }> = {}): unknown {
  return {
    version: '1.0',
    context: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: 'EXAMPLE' },
    viewer: { ip: '198.51.100.11' },
    request: {
      method: 'GET', uri, querystring: {}, cookies: {},
      headers: { host: { value: 'd111111abcdef8.cloudfront.net' }, ...extra, ...(accept === undefined ? {} : { accept: { value: accept } }) },
    },
  };
}

/** Through JSON: the function's objects come from its own realm. */
const plain = (x: unknown): CfResult => JSON.parse(JSON.stringify(x)) as CfResult;

/** 403, or the path the request goes on with (unchanged for what the Lambda answers 400). */
type Answer = { status: 403 } | { status: 'unchanged' } | { status: 'rewritten'; uri: string };

/** What the server makes of the request: its gate's verdict, and for what passes the derivative's path at the CDN. */
function serverAnswer(uri: string, accept: string | undefined, rules: AccessRules): Answer {
  try {
    const { spec, sourceKey } = parseImagePath(uri, new RequestGate(LIMITS, rules, NOW, nodeHmac), accept);
    return { status: 'rewritten', uri: cdnPath(buildSegment(spec), sourceKey) };
  } catch (err) {
    // 400s go on to the Lambda unchanged, which answers them with the message.
    return err instanceof Forbidden ? { status: 403 } : { status: 'unchanged' };
  }
}

/** The edge's answer in the same terms; with signing, what it admits carries its signature and nothing else does. */
function edgeAnswer(out: CfResult, uri: string, expected: Answer, signing: boolean): Answer {
  if (out.statusCode !== undefined) {
    assert.equal(out.statusCode, 403, JSON.stringify(out));
    return { status: 403 };
  }
  const vouched = out.headers?.[EDGE_SIGNATURE_HEADER] !== undefined;
  if (signing) assert.equal(vouched, expected.status === 'rewritten', `${uri}: signature header ${vouched}`);
  // Without signing, a path already canonical is rewritten to itself: the same as going on unchanged.
  if (out.uri === uri && (signing ? !vouched : expected.status !== 'rewritten')) return { status: 'unchanged' };
  return { status: 'rewritten', uri: out.uri ?? '' };
}

/** The edge's own signature of what it forwards must pass the Lambda's gate as a signed path, with the same transform. */
function assertVouched(out: CfResult, keys: string[]): void {
  const sig = out.headers?.[EDGE_SIGNATURE_HEADER]?.value;
  assert.ok(sig, `no ${EDGE_SIGNATURE_HEADER} on ${out.uri}`);
  const gate = new RequestGate(LIMITS, { signingKeys: keys }, NOW, nodeHmac);
  const forwarded = gate.parse(`/${sig}${out.uri}`);
  assert.equal(cdnPath(buildSegment(forwarded.spec), forwarded.sourceKey), out.uri);
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
  '400x300', '0400x0300', '400x', 'x300', 'w640', 'h480', '8192x8192', '8193x10', '0x10', 'x', '12x34', '320x', 'x200',
  'cover', 'contain', 'fill', 'inside', 'outside',
  'north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center', 'centre',
  'top', 'bottom', 'left', 'right', 'top-left', 'top-right', 'bottom-left', 'bottom-right', 'attention', 'entropy', 'smart',
  'fp-0.25-0.75', 'fp-0.5-0.50', 'fp-1-0', 'fp-2-0',
  'enlarge', 'upscale', 'dpr1', 'dpr2', 'dpr1.50', '@2x', '@1x', 'dpr9',
  'trim', 'r90', 'rot180', 'r270', 'r45', 'flip', 'flop', 'mirror',
  'blur5', 'blur0.3', 'blur0.50', 'blur200', 'sharpen', 'sharp', 'bg-fff', 'bg-FFFFFF', 'bg-12abEF', 'bg-12345',
  'jpeg', 'jpg', 'png', 'webp', 'avif', 'gif', 'auto', 'auto', 'auto',
  'q80', 'q60', 'q1', 'q100', 'q0', 'q7x', 'lossless', 'progressive', 'interlace', 'keepicc', 'keep-icc', 'original',
  'thumb', 'card', 'foo', '',
];
const KEYS = ['a.jpg', '2024/06/cat.jpg', 'a%20b.jpg', 'caf%C3%A9.png', 'dir/%E2%9C%93/x.webp', 'x+y.gif', '100%25.jpg', 'a%2Fb.jpg', "it's(1).jpg", '../x.jpg'];
const ACCEPTS = [
  undefined, '', '*/*', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'image/webp,*/*', 'image/avif',
  'image/avif;q=0, image/webp', 'image/webp;q=0.5,image/avif;q=0', 'IMAGE/WEBP', 'text/html,application/xhtml+xml,image/*',
];

function generate(n: number): Array<{ uri: string; accept: string | undefined }> {
  const r = random(20260611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  return Array.from({ length: n }, () => {
    const tokens = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(TOKENS));
    // A third ask for `auto` with a size, at a random place among the rest.
    if (r() < 0.33) tokens.splice(Math.floor(r() * tokens.length), 0, 'auto', pick(['300x', 'x200', 'w64']));
    const roll = r();
    // Some clients encode the commas, some the whole segment.
    const segment = roll < 0.1 ? tokens.join('%2C') : roll < 0.15 ? encodeURIComponent(tokens.join(',')) : tokens.join(',');
    const uri = `/${segment}/${pick(KEYS)}`;
    // A quarter signed: mostly with a configured key (some expired, some tampered), some with a wrong one.
    const sign = r();
    if (sign >= 0.25) return { uri, accept: pick(ACCEPTS) };
    const key = sign < 0.1 ? NEW : sign < 0.18 ? OLD : WRONG;
    const expires = r() < 0.3 ? NOW() + (r() < 0.5 ? -60 : 3600) : undefined;
    // As a client signs: the canonical path (presets expanded); sent as signed, in the spelling asked for, or tampered.
    let message = uri;
    try {
      const { spec, sourceKey } = new RequestGate(LIMITS, { presets: RULES.presets }).parse(uri);
      message = `/${buildSegment(spec)}/${encodeKey(sourceKey)}`;
    } catch { /* signed as it is: the server refuses it for its grammar */ }
    const roll2 = r();
    const sent = roll2 < 0.5 ? message : roll2 < 0.9 ? uri : uri.replace('/', '/q50,');
    return { uri: `/${signatureSegment(message, key, expires, nodeHmac)}${sent}`, accept: pick(ACCEPTS) };
  });
}

/**
 * cloudfront-js-2.0 runs ES5.1 in full, ES2015 arrow functions, and (in 2.0) async/await and import of its own
 * modules. The code may use nothing else: every node of its syntax tree is checked.
 */
const ES5 = new Set([
  'Program', 'ExpressionStatement', 'BlockStatement', 'EmptyStatement', 'ReturnStatement', 'LabeledStatement', 'BreakStatement',
  'ContinueStatement', 'IfStatement', 'SwitchStatement', 'SwitchCase', 'ThrowStatement', 'TryStatement', 'CatchClause',
  'WhileStatement', 'DoWhileStatement', 'ForStatement', 'ForInStatement', 'FunctionDeclaration', 'VariableDeclaration',
  'VariableDeclarator', 'ThisExpression', 'ArrayExpression', 'ObjectExpression', 'Property', 'FunctionExpression',
  'UnaryExpression', 'UpdateExpression', 'BinaryExpression', 'AssignmentExpression', 'LogicalExpression', 'MemberExpression',
  'ConditionalExpression', 'CallExpression', 'NewExpression', 'SequenceExpression', 'Identifier', 'Literal',
]);
function syntaxBeyondEs5(code: string): string[] {
  const found = new Set<string>();
  const walk = (node: Node & Record<string, unknown>, inHandler: boolean): void => {
    const n = node as Node & { kind?: string; async?: boolean; shorthand?: boolean; method?: boolean; computed?: boolean; regex?: { flags: string }; id?: { name: string } };
    const handler = inHandler || (n.type === 'FunctionDeclaration' && n.id?.name === 'handler');
    const allowed = ES5.has(n.type) || n.type === 'ArrowFunctionExpression'
      || (['ImportDeclaration', 'ImportDefaultSpecifier'].includes(n.type)) || (n.type === 'AwaitExpression' && handler);
    if (!allowed) found.add(n.type);
    if (n.type === 'VariableDeclaration' && n.kind !== 'var') found.add(n.kind ?? '');
    if (n.async && !(n.type === 'FunctionDeclaration' && n.id?.name === 'handler')) found.add('async');
    if (n.type === 'Property' && (n.shorthand || n.method || (n.computed && n.kind !== 'init') || n.kind !== 'init')) found.add('property syntax');
    if (n.regex && /[^gim]/.test(n.regex.flags)) found.add(`regex flags ${n.regex.flags}`);
    for (const value of Object.values(node)) {
      for (const child of Array.isArray(value) ? value : [value]) {
        if (child && typeof child === 'object' && typeof (child as Node).type === 'string') walk(child as Node & Record<string, unknown>, handler);
      }
    }
  };
  walk(parse(code, { ecmaVersion: 2017, sourceType: 'module' }) as unknown as Node & Record<string, unknown>, false);
  return [...found];
}

const STAND_INS_OFF = 'delete Object.entries; delete Object.fromEntries;';

describe('the CloudFront viewer-request function, generated from the core grammar and gate', () => {
  let open: string;
  let signing: string;
  before(async () => {
    open = await viewerRequestCode(LIMITS);
    signing = await viewerRequestCode(LIMITS, { rules: RULES, signing: true });
  });

  it(`is under CloudFront's ${CLOUDFRONT_FUNCTION_MAX_BYTES} bytes, and uses only syntax cloudfront-js-2.0 documents`, () => {
    for (const code of [open, signing]) {
      assert.ok(Buffer.byteLength(code) <= CLOUDFRONT_FUNCTION_MAX_BYTES, `${Buffer.byteLength(code)} bytes`);
      assert.deepEqual(syntaxBeyondEs5(code), []);
    }
    assert.match(open, /function handler\(\w+\)/);
    assert.match(signing, /async function handler\(\w+\)/);
    // The checker itself: it sees what ES5 lacks.
    assert.deepEqual(syntaxBeyondEs5('let a = `x`; var f = async () => 1; var o = { a }; /x/u;').sort(), ['TemplateElement', 'TemplateLiteral', 'async', 'let', 'property syntax', 'regex flags u'].sort());
    console.log(`viewer-request function: ${Buffer.byteLength(open)} bytes open, ${Buffer.byteLength(signing)} with signing and rules`);
  });

  const runtimes: Array<[string, string]> = [
    ['with the runtime\'s Object.entries and Object.fromEntries', ''],
    ['without them (the stand-ins)', STAND_INS_OFF],
  ];
  for (const [name, setup] of runtimes) {
    it(`without rules, equals the core's canonical URL on 6,000 generated URLs, ${name}`, async () => {
      const handler = load(open, setup);
      let rewritten = 0;
      let auto = 0;
      let refused = 0;
      for (const { uri, accept } of generate(6000)) {
        const expected = serverAnswer(uri, accept, {});
        assert.deepEqual(edgeAnswer(plain(await handler(viewerEvent(uri, accept))), uri, expected, false), expected, `${uri} with Accept ${JSON.stringify(accept)}`);
        if (expected.status === 'rewritten') rewritten++;
        if (uri.includes('auto') && expected.status === 'rewritten') auto++;
        if (expected.status === 403) refused++;
      }
      // The sample must exercise both sides: URLs the grammar rewrites and URLs it refuses, and `auto` often.
      // (Signed URLs are refused: the server refuses them too when it has no key.)
      assert.ok(rewritten > 1400 && rewritten < 5800, `${rewritten} of 6000 rewritten`);
      assert.ok(auto > 350, `${auto} auto URLs resolved`);
      assert.ok(refused > 300, `${refused} refused`);
    });

    it(`with signing keys, presets and allowlists, answers as the server's gate on 6,000 generated URLs, ${name}`, async () => {
      const handler = load(signing, setup, new Map([[SIGNING_KEYS_KVS_KEY, `${NEW}, ${OLD}`]]));
      const rules = { ...RULES, signingKeys: [NEW, OLD] };
      const counts = { 403: 0, unchanged: 0, rewritten: 0, signedAdmitted: 0, unsignedAdmitted: 0 };
      for (const { uri, accept } of generate(6000)) {
        const out = plain(await handler(viewerEvent(uri, accept)));
        const expected = serverAnswer(uri, accept, rules);
        assert.deepEqual(edgeAnswer(out, uri, expected, true), expected, `${uri} with Accept ${JSON.stringify(accept)}`);
        counts[expected.status]++;
        if (expected.status === 'rewritten') {
          assertVouched(out, [NEW, OLD]);
          counts[uri.startsWith('/s-') ? 'signedAdmitted' : 'unsignedAdmitted']++;
        }
      }
      // Every verdict, often: refused, left for the Lambda's 400, admitted by signature and admitted unsigned by a rule.
      assert.ok(counts[403] > 1000 && counts.unchanged > 1000 && counts.signedAdmitted > 200 && counts.unsignedAdmitted > 25, JSON.stringify(counts));
    });
  }

  describe('the server\'s signature cases, at the edge and at the server', () => {
    const kvs = new Map([[SIGNING_KEYS_KVS_KEY, `${NEW},${OLD}`]]);
    const rules = { ...RULES, signingKeys: [NEW, OLD] };
    const signed = (path: string, key: string, expires?: number) => `/${signatureSegment(path, key, expires, nodeHmac)}${path}`;
    const cases: Array<[string, string, string | undefined, Answer]> = [
      ['signed with the first key', signed('/300x200,webp/2024/cat.jpg', NEW), undefined, { status: 'rewritten', uri: '/300x200,webp/2024/cat.jpg' }],
      ['signed with the rotated-out key', signed('/300x200,webp/2024/cat.jpg', OLD), undefined, { status: 'rewritten', uri: '/300x200,webp/2024/cat.jpg' }],
      ['signed by buildUrl, key with a space', buildUrl('a b/ü.jpg', '300x,cover', { signingKey: NEW }), undefined, { status: 'rewritten', uri: '/300x/a%20b/%C3%BC.jpg' }],
      ['signed, sent in another spelling (the server canonicalises first)', signed('/300x200,webp/a.jpg', NEW).replace('300x200,webp', 'webp,0300x0200'), undefined, { status: 'rewritten', uri: '/300x200,webp/a.jpg' }],
      ['signed with auto: the signature covers auto, the URL gets the format', signed('/300x,auto/a.jpg', NEW), 'image/webp,*/*', { status: 'rewritten', uri: '/300x,webp/a.jpg' }],
      ['tampered options', signed('/300x200,webp/a.jpg', NEW).replace('300x200', '3000x2000'), undefined, { status: 403 }],
      ['tampered key', signed('/300x200,webp/a.jpg', NEW).replace('a.jpg', 'b.jpg'), undefined, { status: 403 }],
      ['wrong key', signed('/300x200,webp/a.jpg', WRONG), undefined, { status: 403 }],
      ['expired', signed('/300x/a.jpg', NEW, NOW() - 1), undefined, { status: 403 }],
      ['expiring later', signed('/300x/a.jpg', NEW, NOW() + 3600), undefined, { status: 'rewritten', uri: '/300x/a.jpg' }],
      ['a moved expiry', signed('/300x/a.jpg', NEW, NOW() - 1).replace(/-(\d+)\//, (_, e: string) => `-${Number(e) + 7200}/`), undefined, { status: 403 }],
      ['unsigned', '/300x200,webp/a.jpg', undefined, { status: 403 }],
      ['a malformed signature (400 from the Lambda)', '/s-abc/300x/a.jpg', undefined, { status: 'unchanged' }],
      ['a preset, unsigned', '/thumb/a.jpg', undefined, { status: 'rewritten', uri: '/150x150,cover,webp/a.jpg' }],
      ['a preset with auto, unsigned', '/card/a.jpg', 'image/avif', { status: 'rewritten', uri: '/600x400,cover,avif/a.jpg' }],
      ['a preset and more options, unsigned', '/thumb,blur5/a.jpg', undefined, { status: 403 }],
      ['a preset, signed by name', `/${signatureSegment('/150x150,cover,webp/a.jpg', NEW, undefined, nodeHmac)}/thumb/a.jpg`, undefined, { status: 'rewritten', uri: '/150x150,cover,webp/a.jpg' }],
      ['an allowed width, unsigned', '/320x,webp,q70/a.jpg', undefined, { status: 'rewritten', uri: '/320x,webp,q70/a.jpg' }],
      ['an allowed width with more than size, format and quality', '/320x,blur5/a.jpg', undefined, { status: 403 }],
      ['a width not allowed', '/321x/a.jpg', undefined, { status: 403 }],
      ['an allowed segment, spelled otherwise', '/webp,0400x300/a.jpg', undefined, { status: 'rewritten', uri: '/400x300,webp/a.jpg' }],
      ['an allowed segment with a height alone', '/png,h200/a.jpg', undefined, { status: 'rewritten', uri: '/x200,png/a.jpg' }],
      ['traversal in the key (400 from the Lambda)', '/thumb/../a.jpg', undefined, { status: 'unchanged' }],
    ];
    for (const [name, uri, accept, expected] of cases) {
      it(`${name}: ${expected.status === 'rewritten' ? expected.uri : expected.status}`, async () => {
        assert.deepEqual(serverAnswer(uri, accept, rules), expected, 'the server');
        for (const setup of ['', STAND_INS_OFF]) {
          const out = plain(await load(signing, setup, kvs)(viewerEvent(uri, accept)));
          assert.deepEqual(edgeAnswer(out, uri, expected, true), expected, 'the edge');
          if (expected.status === 'rewritten') assertVouched(out, [NEW]);
        }
      });
    }
  });

  it('reads the keys at each request: a key put first in the store signs from then on, one removed stops verifying', async () => {
    const kvs = new Map([[SIGNING_KEYS_KVS_KEY, OLD]]);
    const handler = load(signing, '', kvs);
    const byNew = `/${signatureSegment('/300x/a.jpg', NEW, undefined, nodeHmac)}/300x/a.jpg`;
    const byOld = `/${signatureSegment('/300x/a.jpg', OLD, undefined, nodeHmac)}/300x/a.jpg`;
    assert.equal(plain(await handler(viewerEvent(byNew, undefined))).statusCode, 403);
    kvs.set(SIGNING_KEYS_KVS_KEY, `${NEW},${OLD}`);
    const out = plain(await handler(viewerEvent(byNew, undefined)));
    assert.equal(out.uri, '/300x/a.jpg');
    assert.equal(out.headers?.[EDGE_SIGNATURE_HEADER]?.value, signatureSegment('/300x/a.jpg', NEW, undefined, nodeHmac), 'the first key vouches');
    assert.equal(plain(await handler(viewerEvent(byOld, undefined))).uri, '/300x/a.jpg');
    kvs.set(SIGNING_KEYS_KVS_KEY, NEW);
    assert.equal(plain(await handler(viewerEvent(byOld, undefined))).statusCode, 403);
  });

  it('fails closed when signing is on and the store has no keys: 503, never open', async () => {
    for (const kvs of [new Map<string, string>(), new Map([[SIGNING_KEYS_KVS_KEY, ' , ']])]) {
      const out = plain(await load(signing, '', kvs)(viewerEvent('/thumb/a.jpg', undefined)));
      assert.deepEqual(out, { statusCode: 503, statusDescription: 'Service Unavailable' });
    }
  });

  it('drops a viewer\'s own signature header: only the function vouches for a request', async () => {
    const forged = { [EDGE_SIGNATURE_HEADER]: { value: signatureSegment('/1x/a.jpg', NEW, undefined, nodeHmac) } };
    const out = plain(await load(open)(viewerEvent('/s-abc/1x/a.jpg', undefined, forged)));
    assert.equal(out.uri, '/s-abc/1x/a.jpg');
    assert.equal(out.headers?.[EDGE_SIGNATURE_HEADER], undefined);
    const kept = plain(await load(signing, '', new Map([[SIGNING_KEYS_KVS_KEY, NEW]]))(viewerEvent('/bad,,/a.jpg', undefined, forged)));
    assert.equal(kept.headers?.[EDGE_SIGNATURE_HEADER], undefined);
  });

  it('turns auto into the format Accept allows, the same as the Lambda would', async () => {
    const handler = load(open);
    assert.equal(plain(await handler(viewerEvent('/300x,auto/a.jpg', 'image/avif,image/webp,*/*'))).uri, '/300x,avif/a.jpg');
    assert.equal(plain(await handler(viewerEvent('/auto,300x/a.jpg', 'image/webp,*/*'))).uri, '/300x,webp/a.jpg');
    assert.equal(plain(await handler(viewerEvent('/300x,auto/a.jpg', '*/*'))).uri, '/300x/a.jpg');
    assert.equal(plain(await handler(viewerEvent('/300x,auto/a.jpg', undefined))).uri, '/300x/a.jpg');
  });

  it('refuses service paths at the edge, signed or not', async () => {
    for (const [code, kvs] of [[open, undefined], [signing, new Map([[SIGNING_KEYS_KVS_KEY, NEW]])]] as const) {
      const handler = load(code, '', kvs);
      // `/_/mezzanine/…`: the near-original copies of sources in the derivative bucket (issue 14).
      for (const uri of ['/_/healthz', '/_', '/_/metrics', '/_/playground', '/_/mezzanine/a.jpg', '/_/mezzanine/2024/a%20b.jpg']) {
        assert.deepEqual(plain(await handler(viewerEvent(uri, undefined))), { statusCode: 404, statusDescription: 'Not Found' });
      }
    }
  });

  it('takes the Lambda\'s size limits', async () => {
    const small = load(await viewerRequestCode({ maxOutputWidth: 1000, maxOutputHeight: 1000 }));
    assert.equal(plain(await small(viewerEvent('/0999x/a.jpg', undefined))).uri, '/999x/a.jpg');
    assert.equal(plain(await small(viewerEvent('/1001x/a.jpg', undefined))).uri, '/1001x/a.jpg', 'refused: left for the Lambda to answer 400');
  });
});
