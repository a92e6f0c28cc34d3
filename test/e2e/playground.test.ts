import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { ROOT } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Debian's chromium (.ci/run installs it), not a browser build of playwright's own. */
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
// The README's screenshot is rewritten only on request (UPDATE_DOCS=1 npm test), so a test run leaves the tree clean.
const SCREENSHOT = process.env.UPDATE_DOCS === '1' ? join(ROOT, 'docs/playground.png') : join(tmpdir(), `resizer-playground-${process.pid}.png`);

describe('playground in headless Chromium', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  before(async () => {
    srv = await startTestServer({ source: join(ROOT, 'demo/images') });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    await page.goto(`${srv.url}/_/playground`);
    assert.deepEqual(errors, [], 'the page loads without script errors');
  });
  after(async () => {
    await browser?.close();
    await srv?.close();
  });

  /** Waits for an option set's image to be the one at `url`, fully loaded, and returns its natural size. */
  async function loaded(panel: 'a' | 'b', url: string): Promise<[number, number]> {
    // Checked and read in one step in the page: a later input event may set src again between two steps.
    const size = await page.waitForFunction(([sel, want]) => {
      const img = document.querySelector(sel) as HTMLImageElement | null;
      return img !== null && img.src === want && img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : false;
    }, [`#${panel}-image`, url] as const);
    return (await size.jsonValue()) as [number, number];
  }

  it('lists sources, filters them by prefix and picks one', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#source option').length === 5);
    await page.fill('#prefix', 'kle');
    await page.waitForFunction(() => [...document.querySelectorAll('#source option')].map((o) => o.textContent).join() === 'kleiber.jpg');
    await page.selectOption('#source', 'kleiber.jpg');
  });

  it('shows the canonical URL, the image at its expected natural size, and its bytes, format and time', async () => {
    await page.fill('#a-width', '300');
    await page.fill('#a-height', '200');
    await page.selectOption('#a-fit', 'cover');
    await page.selectOption('#a-position', 'attention');
    await page.selectOption('#a-format', 'webp');
    await page.fill('#a-quality', '70');
    // The canonical spelling of what the controls say (docs/url-api.md): table order, aliases resolved.
    const urlA = `${srv.url}/300x200,cover,attention,webp,q70/kleiber.jpg`;
    assert.deepEqual(await loaded('a', urlA), [300, 200]);
    assert.equal(await page.textContent('#a-url'), urlA);
    assert.equal(await page.getAttribute('#a-url', 'href'), urlA);
    await page.waitForFunction(() => document.querySelector('#a-out-dimensions')?.textContent === '300 × 200');
    // Every cell written for this image (a render still in flight shows '…').
    await page.waitForFunction(() => ['bytes', 'format', 'time'].every((k) => !['…', ''].includes(document.querySelector(`#a-out-${k}`)?.textContent ?? '')));
    assert.equal(await page.textContent('#a-out-format'), 'image/webp');
    const served = Buffer.from(await (await fetch(urlA)).arrayBuffer());
    assert.equal(await page.textContent('#a-out-bytes'), `${served.length.toLocaleString('en')} bytes`);
    assert.match(await page.textContent('#a-out-time') ?? '', /^[\d.]+ ms, cache (HIT|MISS)$/);
    assert.equal(await page.getAttribute('#a-image', 'alt'), 'kleiber.jpg with options 300x200,cover,attention,webp,q70');
  });

  it('compares a second option set side by side', async () => {
    const renders: string[] = [];
    const count = (req: { url(): string }) => { if (req.url().includes('/_/playground/canonical')) renders.push(req.url()); };
    page.on('request', count);
    await page.fill('#b-width', '200');
    await page.fill('#b-height', '');
    await page.selectOption('#b-format', 'avif');
    const urlB = `${srv.url}/200x,avif/kleiber.jpg`;
    const [w, h] = await loaded('b', urlB);
    page.off('request', count);
    // Three controls changed at once: one debounced render (two if the machine stalls between them), not one each.
    assert.ok(renders.length < 3, `${renders.length} renders for one burst of edits`);
    const meta = await sharp(Buffer.from(await (await fetch(urlB)).arrayBuffer())).metadata();
    assert.deepEqual([w, h], [200, meta.height]);
    assert.equal(meta.format, 'heif');
    await page.waitForFunction(() => document.querySelector('#b-out-format')?.textContent !== '…' && document.querySelector('#b-out-format')?.textContent !== '');
    assert.equal(await page.textContent('#b-out-format'), 'image/avif');
    assert.equal(await page.textContent('#a-url'), `${srv.url}/300x200,cover,attention,webp,q70/kleiber.jpg`, 'A is unchanged');
  });

  it('offers an <img srcset> snippet whose URLs all answer 200 at 1x and 2x sizes', async () => {
    await page.fill('#alt', 'Kleiber conducting');
    await page.waitForFunction(() => (document.querySelector('#snippet') as HTMLTextAreaElement).value.includes('Kleiber conducting'));
    const snippet = await page.inputValue('#snippet');
    const one = `${srv.url}/300x200,cover,attention,webp,q70/kleiber.jpg`;
    const two = `${srv.url}/300x200,cover,attention,dpr2,webp,q70/kleiber.jpg`;
    assert.equal(snippet, `<img src="${one}" srcset="${one} 1x, ${two} 2x" width="300" height="200" alt="Kleiber conducting">`);
    const urls = [...snippet.matchAll(/(?:src="|srcset="|, )(http[^ "]+)/g)].map((m) => m[1]!);
    assert.deepEqual(urls, [one, one, two]);
    for (const [url, width] of [[one, 300], [two, 600]] as const) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      assert.equal((await sharp(Buffer.from(await res.arrayBuffer())).metadata()).width, width);
    }
  });

  it('is labelled for assistive technology, and leaves a screenshot for the README', async () => {
    const unlabelled = await page.$$eval('input, select, textarea', (els) => els.filter((el) => !(el as HTMLInputElement).labels?.length).map((el) => el.id));
    assert.deepEqual(unlabelled, []);
    const imagesWithoutAlt = await page.$$eval('img[src]', (imgs) => imgs.filter((i) => !(i as HTMLImageElement).alt).length);
    assert.equal(imagesWithoutAlt, 0);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const shot = await sharp(SCREENSHOT).metadata();
    assert.equal(shot.width, 1280);
  });
});
