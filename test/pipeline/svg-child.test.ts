import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Unprocessable } from '../../src/errors/index.js';
import { normalise } from '../../src/ops/normalise.js';
import { inspect, render } from '../../src/pipeline/index.js';
import { rasteriseSvg, svgChildCommand, svgChildHome } from '../../src/pipeline/svg-process.js';

const TEXT_SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><text x="5" y="40" font-family="sans-serif" font-size="30">Hello, fonts</text></svg>');
const LIMITS = { maxInputPixels: 50_000_000, maxOutputWidth: 8192, maxOutputHeight: 8192, maxOutputPixels: 40_000_000, timeoutSeconds: 20, svg: true, maxSvgBytes: 1024 * 1024, maxFrames: 200 };

/** ~1 MiB of SVG with ~149k elements: parsing it took 1.3 s and ~190 MB in the server process. */
function manyElements(): Buffer {
  const rects = '<rect x="1" y="1" width="1" height="1"/>'.repeat(149_000).slice(0, 1024 * 1024 - 200);
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">${rects.slice(0, rects.lastIndexOf('<'))}</svg>`);
}

const hasStrace = spawnSync('strace', ['-V']).status === 0;

describe('the SVG child process', () => {
  it('reads the header itself: the server process does not parse the SVG', async () => {
    const svg = manyElements();
    const started = performance.now();
    const { meta, source } = await inspect(svg, LIMITS);
    const ms = performance.now() - started;
    assert.equal(source, 'svg');
    assert.equal(meta.pages, 1);
    assert.ok(ms < 50, `inspect took ${ms.toFixed(0)} ms`);
    const out = await render(svg, normalise({ width: 50 }), LIMITS);
    assert.deepEqual([out.width, out.height, out.format], [50, 50, 'png']);
  });

  it('refuses a huge declared size in the child with 422', async () => {
    const huge = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>');
    await assert.rejects(rasteriseSvg(huge, { box: { width: 100 }, grow: false }, 50_000_000, 10), (err: unknown) => err instanceof Unprocessable && /100000x100000, over the limit/.test(err.message));
  });

  it('keeps its font cache in its private folder', async () => {
    const out = await rasteriseSvg(TEXT_SVG, 72, 50_000_000, 20);
    assert.equal(out.info.width, 200);
    // Text was drawn (the raster is not blank), so fontconfig ran; its cache went to the private folder.
    assert.ok(out.data.some((b, i) => i % 4 === 3 && b > 0), 'text drawn');
    const caches = await readdir(join(svgChildHome(), 'cache/fontconfig'));
    assert.ok(caches.some((n) => n.endsWith('.cache-8') || n.includes('cache')), `font cache files: ${caches.join(', ')}`);
  });

  it('writes nothing outside its temp folder (traced)', async () => {
    assert.ok(hasStrace, 'strace is needed for this test: apt-get install strace (.ci/run installs it)');
    const log = await mkdtemp(join(tmpdir(), 'resizer-strace-'));
    try {
      const { command, args, options } = svgChildCommand({ box: { width: 400 }, grow: false }, 50_000_000);
      const traced = spawnSync('strace', ['-f', '-qq', '-e', 'trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,link,symlink', '-o', join(log, 'trace'), command, ...args], { ...options, input: TEXT_SVG, maxBuffer: 64 * 1024 * 1024 });
      assert.equal(traced.status, 0, traced.stderr.toString());
      const home = options.cwd;
      const writes = (await readFile(join(log, 'trace'), 'utf8')).split('\n').filter((line) =>
        /(O_WRONLY|O_RDWR|O_CREAT)/.test(line) || /\b(creat|mkdir|mkdirat|rename\w*|unlink\w*|link|symlink)\(/.test(line));
      const paths = writes.flatMap((line) => [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? ''));
      const outside = paths.filter((p) => p.startsWith('/') && !p.startsWith(`${home}/`) && !/^\/(dev|proc)\//.test(p));
      assert.deepEqual(outside, [], `writes outside ${home}:\n${writes.join('\n')}`);
      assert.ok(paths.length > 0 || writes.length === 0);
    } finally {
      await rm(log, { recursive: true, force: true });
    }
  });
});
