// The cost model against measurement: each case runs once in a fresh process (test/helpers/cost-probe.ts), which
// reports the peak resident memory the transform added and the CPU time it used; each prediction must be within
// 2x of the measurement, differences under 16 MiB or 25 ms aside (small transforms reuse memory the allocator
// already holds, so their measured peak is ~0).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makeCostSources } from '../helpers/cost-cases.js';

const run = promisify(execFile);
const PROBE = new URL('../helpers/cost-probe.ts', import.meta.url).pathname;
const MiB = 2 ** 20;
const FACTOR = 2;
const SLACK = 16 * MiB;
const CPU_SLACK_MS = 25;

// One case per way memory behaves: streaming, DCT shrink, whole coefficient buffers, whole decodes (PNG, TIFF,
// AVIF), scale-on-load (WebP), encoders that hold the output (mozjpeg, AVIF), quarter turns, no resize.
const CASES: Array<[string, string]> = [
  ['baseline20mp.jpg', '300x200,cover'],
  ['baseline20mp.jpg', '1600x'],
  ['baseline20mp.jpg', 'q80'],
  ['baseline13mp.jpg', '1200x,r90'],
  ['progressive16mp.jpg', '300x200,cover'],
  ['progressive16mp.jpg', '800x600,avif'],
  ['progressive444.jpg', '1600x'],
  ['interlaced.png', '800x600,webp'],
  ['plain.png', '1200x,r90'],
  ['big.webp', '1600x'],
  ['big.webp', 'q80'],
  ['big.avif', '300x200,cover'],
  ['big.avif', 'q80'],
  ['big.tiff', '800x600,avif'],
  ['animated.gif', '300x300,cover,attention'],
  ['logo.svg', '800x600,webp'],
];

describe('cost model', () => {
  let dir: string;
  let files: Record<string, string>;
  before(async () => { ({ dir, files } = await makeCostSources()); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it(`predicts the peak memory and CPU time of a transform within ${FACTOR}x of the measured ones`, async () => {
    const misses: string[] = [];
    for (const [name, segment] of CASES) {
      const file = files[name];
      assert.ok(file, name);
      const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, file, segment], {
        env: { ...process.env, MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '8388608' },
      });
      const m = JSON.parse(stdout.trim().split('\n').pop()!) as { peakBytes: number; predictedBytes: number; cpuMs: number; predictedMs: number };
      const [lo, hi] = [Math.min(m.peakBytes, m.predictedBytes), Math.max(m.peakBytes, m.predictedBytes)];
      const line = `${basename(file)} ${segment}: measured ${(m.peakBytes / MiB).toFixed(1)} MiB ${m.cpuMs.toFixed(0)} ms CPU, predicted ${(m.predictedBytes / MiB).toFixed(1)} MiB ${m.predictedMs.toFixed(0)} ms`;
      console.log(`# ${line}`);
      if (hi - lo > SLACK && hi > FACTOR * lo) misses.push(line);
      // CPU time too (the SVG rasteriser's is spent in its own process, which the probe does not count).
      const [clo, chi] = [Math.min(m.cpuMs, m.predictedMs), Math.max(m.cpuMs, m.predictedMs)];
      if (!file.endsWith('.svg') && chi - clo > CPU_SLACK_MS && chi > FACTOR * clo) misses.push(`${line} (CPU)`);
    }
    assert.deepEqual(misses, []);
  });
});
