// Measures the peak memory and time of one transform per calibration case (a fresh process each) and prints them
// beside the cost model's prediction: the data the model's constants were fitted on.
// Usage: node --import tsx scripts/calibrate-cost.ts [--json out.json]
import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { costCases, makeCostSources } from '../test/helpers/cost-cases.js';

const mib = (b: number) => (b / 2 ** 20).toFixed(1).padStart(6);
const PROBE = new URL('../test/helpers/cost-probe.ts', import.meta.url).pathname;
const { dir, files } = await makeCostSources();
const rows: unknown[] = [];
try {
  for (const c of costCases(files)) {
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', PROBE, c.file, c.segment], {
      env: { ...process.env, MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '8388608' }, encoding: 'utf8',
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) { console.log(basename(c.file), c.segment, 'FAILED', r.stderr.split('\n').slice(-3).join(' ')); continue; }
    const m = JSON.parse(line) as { peakBytes: number; ms: number; predictedBytes: number; predictedMs: number };
    rows.push({ ...m, file: basename(c.file) });
    console.log(`${basename(c.file).padEnd(22)} ${c.segment.padEnd(26)} ${mib(m.peakBytes)} MiB (predicted ${mib(m.predictedBytes)}) ${m.ms.toFixed(0).padStart(6)} ms (predicted ${m.predictedMs.toFixed(0).padStart(5)})`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const out = process.argv.indexOf('--json');
if (out > 0) await writeFile(process.argv[out + 1]!, JSON.stringify(rows, null, 1));
