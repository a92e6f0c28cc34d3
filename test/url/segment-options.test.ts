import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequest } from '../../src/errors/index.js';
import { buildSegment, parseSegment } from '../../src/url/segment.js';

const LIMITS = { maxOutputWidth: 8192, maxOutputHeight: 8192 };
const canonical = (segment: string) => buildSegment(parseSegment(segment, LIMITS));

function rejects(segment: string, message: RegExp) {
  assert.throws(() => parseSegment(segment, LIMITS), (err: unknown) => {
    assert.ok(err instanceof BadRequest, `${segment}: ${String(err)}`);
    assert.match(err.message, message, segment);
    return true;
  });
}

describe('transform segment: canonical form', () => {
  it('keeps the documented canonical spelling of every option as is', () => {
    const all = '300x200,cover,fp-0.25-0.75,enlarge,dpr1.5,trim,r90,flip,flop,blur2.5,sharpen,bg-ff8800,jpeg,q70,progressive,keepicc';
    assert.equal(canonical(all), all);
    for (const s of ['300x', 'x200', '300x200,contain,north', '300x200,cover,attention', '300x200,cover,entropy',
      'webp,lossless', 'avif,q50', 'png,progressive', 'gif', 'r180', 'r270', 'original']) {
      assert.equal(canonical(s), s);
    }
  });

  it('gives every equivalent spelling one key: any order, aliases, defaults', () => {
    const groups: string[][] = [
      ['300x200,cover,attention,webp,q70', 'q70,webp,attention,cover,300x200', 'w300,h200,cover,smart,webp,q70'],
      ['300x200,cover,jpeg', '300x200,cover,jpg,q80', '300x200,cover,center,jpeg', '300x200,centre,cover,jpeg', '300x200,cover,jpeg,dpr1'],
      ['300x200', '300x200,inside', 'w300,h200', '300x200,dpr1.0'],
      ['300x200,dpr2', '300x200,@2x', '300x200,dpr2.000'],
      ['300x200,cover,west', '300x200,cover,left'],
      ['300x200,cover,southeast', '300x200,cover,bottom-right'],
      ['300x200,cover,fp-0.5-0.25', '300x200,cover,fp-0.50-0.250'],
      ['r90,flop', 'rot90,mirror'],
      ['bg-aabbcc', 'bg-AABBCC'],
      ['bg-ffffff', 'bg-fff'],
      ['webp,lossless', 'webp,lossless,q90', 'webp,lossless,progressive'],
      ['png', 'png,q50', 'png,lossless'],
      ['avif', 'avif,q60'],
      ['jpeg,progressive', 'jpeg,interlace', 'jpeg,lossless,progressive'],
      ['keepicc', 'keep-icc'],
      ['300x,enlarge', '300x,upscale', '300x,cover,enlarge', '300x,fill,enlarge,north'],
      ['original', 'enlarge', 'dpr2', 'inside', 'cover', 'north'],
      ['300x200,contain', '300x200,contain,attention', '300x200,contain,fp-0.1-0.1'],
      ['300x200,fill', '300x200,fill,north'],
      ['q75', 'q075'],
    ];
    for (const group of groups) {
      const keys = new Set(group.map(canonical));
      assert.equal(keys.size, 1, `${group.join(' | ')} → ${[...keys].join(' | ')}`);
      assert.equal(canonical([...keys][0] ?? ''), [...keys][0], 'canonical form is a fixed point');
    }
  });

  it('keeps what changes the output apart', () => {
    const distinct = ['300x200', '300x200,cover', '300x200,cover,north', '300x200,contain,north', '300x200,dpr2',
      '300x200,enlarge', 'webp', 'webp,q81', 'jpeg,q81', 'q81', 'progressive', 'lossless', 'r90', 'flip', 'flop',
      'blur1', 'blur1.5', 'sharpen', 'bg-000000', 'trim', 'keepicc'];
    assert.equal(new Set(distinct.map(canonical)).size, distinct.length);
  });

  it('parses into typed fields', () => {
    assert.deepEqual(parseSegment('300x200,cover,fp-0.2-0.8,dpr3,r270,blur4,bg-102030,avif,q40', LIMITS), {
      width: 300, height: 200, fit: 'cover', position: { x: 0.2, y: 0.8 }, dpr: 3, rotate: 270, blur: 4,
      background: '102030', format: 'avif', quality: 40,
    });
  });
});

describe('transform segment: malformed values are a 400 naming the option and what it expected', () => {
  const cases: [string, RegExp][] = [
    ['0x200', /^Expected a width between 1 and 8192 for size "0x200" but received "0"$/],
    ['9000x', /width between 1 and 8192/],
    ['x9000', /height between 1 and 8192/],
    ['x', /^Expected WxH, Wx or xH for size but received "x"$/],
    ['w', /width between 1 and 8192 for size "w"/],
    ['h0', /height between 1 and 8192/],
    ['w1.5', /width between 1 and 8192/],
    ['fp-0.5', /^Expected fp-X-Y with X and Y fractions between 0 and 1 for focal point but received "fp-0.5"$/],
    ['fp-1.5-0', /^Expected a number between 0 and 1 for focal point \(fp-X-Y\) but received "1.5"$/],
    ['fp-a-0', /for focal point/],
    ['fp--1-0', /for focal point/],
    ['dpr0.5', /^Expected a number between 1 and 4 for dpr \(dpr1 to dpr4, or @2x\) but received "0.5"$/],
    ['dpr5', /between 1 and 4 for dpr/],
    ['dpr', /between 1 and 4 for dpr/],
    ['dpr-2', /between 1 and 4 for dpr/],
    ['@0x', /between 1 and 4 for dpr/],
    ['r45', /^Expected one of 90, 180, 270 for rotate \(r90, r180 or r270\) but received "45"$/],
    ['r', /for rotate/],
    ['rot-90', /for rotate/],
    ['blur0', /^Expected a number between 0.3 and 100 for blur \(blurN, sigma 0.3 to 100\) but received "0"$/],
    ['blur101', /between 0.3 and 100 for blur/],
    ['blur', /for blur/],
    ['blur-1', /for blur/],
    ['bg-12345', /^Expected a hex colour RGB or RRGGBB for background \(bg-RRGGBB\) but received "12345"$/],
    ['bg-gggggg', /hex colour .* for background/],
    ['bg-ff000080', /hex colour .* for background/],
    ['bg-', /hex colour .* for background/],
    ['q0', /^Expected an integer between 1 and 100 for quality \(q1 to q100\) but received "0"$/],
    ['q101', /between 1 and 100 for quality/],
    ['q', /for quality/],
    ['q50.5', /for quality/],
    ['q-1', /for quality/],
  ];
  for (const [segment, message] of cases) {
    it(segment, () => rejects(`300x200,${segment}`, message));
  }

  it('unknown words, including near-misses of flags and keywords, name the token and point at the docs', () => {
    for (const token of ['foo', 'covr', 'nort', 'webpp', 'jpg2', 'tif', 'svg', 'sharpenn', 'flipp', 'trimm', 'enlarged',
      'lossles', 'progresive', 'keepiccc', 'rotate90', 'quality80', 'blurry', 'CENTER', 'WEBP']) {
      rejects(`300x200,${token}`, new RegExp(`^Expected a size \\(300x200, 300x, x200\\) or an option .*docs/url-api\\.md.* for option but received "${token}"$`));
    }
  });

  it('two tokens setting the same thing conflict', () => {
    rejects('300x200,400x300', /"300x200" and "400x300" conflict/);
    rejects('cover,contain', /"cover" and "contain" conflict \(both set fit\)/);
    rejects('north,fp-0-0', /conflict \(both set position\)/);
    rejects('webp,jpg', /conflict \(both set format\)/);
    rejects('q50,q60', /conflict \(both set quality\)/);
    rejects('dpr2,@2x', /conflict \(both set dpr\)/);
    rejects('r90,r180', /conflict \(both set rotate\)/);
    rejects('flip,flip', /conflict \(both set flip\)/);
    rejects('300x,w300', /conflict/);
  });

  it('empty options are refused', () => {
    rejects('300x200,', /Empty option/);
    rejects(',webp', /Empty option/);
  });
});
