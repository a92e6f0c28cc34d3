import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Page { items: Array<{ key: string; size: number; lastModified: string }>; next: string | null }

describe('playground endpoints', () => {
  let srv: TestServer;
  before(async () => { srv = await startTestServer(); });
  after(async () => { await srv.close(); });

  const getJson = async <T>(path: string): Promise<T> => {
    const res = await fetch(srv.url + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'application/json');
    return await res.json() as T;
  };

  it('serves the page, its script and its style under /_/playground with a same-origin-only CSP', async () => {
    const page = await fetch(`${srv.url}/_/playground`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    const html = await page.text();
    assert.match(html, /<label for="source">/);
    assert.match(html, /<script type="module" src="\/_\/playground\/app\.js">/);
    for (const [path, type] of [['/_/playground/app.js', 'text/javascript'], ['/_/playground/style.css', 'text/css']] as const) {
      const res = await fetch(srv.url + path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(type));
      assert.ok((await res.text()).length > 100);
    }
  });

  it('/_/sources pages through the source store in key order, with prefix, after and limit', async () => {
    const whole = await getJson<Page>('/_/sources?prefix=png/pngsuite/&limit=1000');
    assert.ok(whole.items.length > 10);
    assert.equal(whole.next, null);
    assert.ok(whole.items.every((i) => i.key.startsWith('png/pngsuite/') && i.size > 0));
    const paged: string[] = [];
    let after = '';
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 100, 'the listing ends');
      const page = await getJson<Page>(`/_/sources?prefix=png/pngsuite/&limit=4&after=${encodeURIComponent(after)}`);
      assert.ok(page.items.length <= 4);
      paged.push(...page.items.map((i) => i.key));
      if (!page.next) break;
      assert.equal(page.next, page.items.at(-1)?.key);
      after = page.next;
    }
    assert.deepEqual(paged, whole.items.map((i) => i.key));
    const first = await getJson<Page>('/_/sources?limit=3');
    assert.equal(first.items.length, 3);
    assert.ok(first.next);
    const bad = await fetch(`${srv.url}/_/sources?limit=0`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /Expected an integer between 1 and 1000 for limit but received "0"/);
  });

  it('/_/playground/canonical spells options the way the URL API stores them, or says what is wrong', async () => {
    const r = await getJson<{ results: Array<{ options: string; segment?: string; error?: string }> }>(
      '/_/playground/canonical?options=q70,webp,smart,cover,300x200&options=covr&options=original');
    assert.deepEqual(r.results, [
      { options: 'q70,webp,smart,cover,300x200', segment: '300x200,cover,attention,webp,q70' },
      { options: 'covr', error: r.results[1]?.error },
      { options: 'original', segment: 'original' },
    ]);
    assert.match(r.results[1]?.error ?? '', /received "covr"/);
  });
});

describe('--playground off', () => {
  it('takes the page and the listing away and leaves images alone', async () => {
    const srv = await startTestServer({ playground: 'off' });
    try {
      for (const path of ['/_/playground', '/_/playground/app.js', '/_/sources', '/_/playground/canonical?options=300x']) {
        const res = await fetch(srv.url + path);
        assert.equal(res.status, 404, path);
        await res.arrayBuffer();
      }
      const img = await fetch(`${srv.url}/40x/png/dice.png`);
      assert.equal(img.status, 200);
      await img.arrayBuffer();
    } finally {
      await srv.close();
    }
  });

  it('is a setting: on by default, --playground / RESIZER_PLAYGROUND on|off', () => {
    assert.equal(loadConfig({}, {}).playground, 'on');
    assert.equal(loadConfig({ playground: 'off' }, {}).playground, 'off');
    assert.equal(loadConfig({}, { RESIZER_PLAYGROUND: 'off' }).playground, 'off');
    assert.throws(() => loadConfig({ playground: 'maybe' }, {}), /Invalid --playground: expected one of on, off/);
  });
});
