// The short version of `npm run soak` (bench/soak.ts): the same mixed traffic against the real server process for
// under a minute. RSS must plateau over the last third, nothing may fail, and hostile files are refused or
// rendered harmlessly, never a 5xx.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plateauOf, runSoak, type SoakSample } from '../../bench/soak.js';

describe('soak (short)', () => {
  it('RSS plateaus under 54 s of Zipf hits, misses and hostile files; no errors', async (t) => {
    // A small hot set fills within seconds, so that what is left to see is the process's own growth.
    // Under a minute, 18 s of last third: a glibc arena step is within 6 % of RSS (npm run soak holds 2 % over minutes).
    const r = await runSoak({ seconds: 54, rate: 80, sampleEveryMs: 2000, hostileShare: 0.01, serverArgs: ['--memory-cache-mb', '8'], tolerance: 0.06, log: (l) => t.diagnostic(l) });
    t.diagnostic(JSON.stringify({ totals: r.totals, plateau: r.plateau }));
    assert.equal(r.totals.errors, 0, JSON.stringify(r.statusCounts));
    assert.ok(r.totals.hostile > 0);
    assert.ok(r.totals.hits / r.totals.requests > 0.6, `hit share ${r.totals.hits}/${r.totals.requests}`);
    assert.ok(r.samples.length >= 20);
    assert.ok(r.plateau.ok, `RSS grew ${r.plateau.driftMiB.toFixed(1)} MiB over the last third (noise ${r.plateau.noiseMiB.toFixed(1)} MiB)`);
  });

  it('the plateau check catches steady growth and accepts noise around a level', () => {
    const series = (f: (t: number) => number): SoakSample[] => Array.from({ length: 30 }, (_, i) => ({
      t: i * 2, rssMiB: f(i * 2), lagP99Ms: 0, p99Ms: 0, requests: 0, hits: 0, errors: 0, refused: 0,
    }));
    assert.equal(plateauOf(series((t) => 200 + 0.5 * t)).ok, false, '0.5 MiB/s is a leak');
    assert.equal(plateauOf(series((t) => 200 + (t % 4 ? 3 : -3))).ok, true);
    assert.equal(plateauOf(series((t) => 100 + Math.min(t, 30) * 3)).ok, true, 'grew, then flat in the last third');
    // A CI run (RSS every 2 s, MiB), with the tolerance the run above uses: level, then a peak in the last two samples.
    const ci = [113, 128, 142, 131, 147, 148, 149, 136, 134, 148, 149, 152, 142, 150, 143, 144, 144, 157, 144, 148, 147, 147, 147, 147, 152, 173, 169];
    const run = (rss: number[]) => rss.map((rssMiB, i) => ({ ...series(() => 0)[0]!, t: 2 + i * 2, rssMiB }));
    assert.equal(plateauOf(run(ci), 0.06).ok, true, 'a peak as the run ends is not a trend');
    assert.equal(plateauOf(run(ci.map((v, i) => v + 2 * i)), 0.06).ok, false, 'the same with 1 MiB/s of growth under it is');
    assert.equal(plateauOf(series((t) => 200 + 0.8 * t), 0.06).ok, false, '0.8 MiB/s is a leak at the short run\'s tolerance too');
  });
});
