import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getFresh } from '../helpers/fresh.js';
import { parseExposition, total } from '../helpers/prom.js';
import { freePort, startServerProcess } from '../helpers/process.js';

describe('metrics with --workers 2', () => {
  for (const where of ['the serving port', 'the ops port (--metrics-port)']) {
    it(`one scrape on ${where} returns the sum over both workers`, async () => {
      const ops = where.startsWith('the ops') ? ['--metrics-port', String(await freePort())] : [];
      const srv = await startServerProcess(['--source', 'demo/images', '--cache', 'none', '--port', '0', '--workers', '2', ...ops]);
      try {
        const scrapeUrl = ops.length ? `${await opsUrl(srv.log)}/metrics` : `${srv.url}/_/metrics`;
        await bothWorkersUp(scrapeUrl);
        for (let i = 0; i < 8; i++) assert.equal((await getFresh(`${srv.url}/${20 + i}x/dice.png`)).status, 200);
        const s = parseExposition((await getFresh(scrapeUrl)).body.toString());
        // Round-robin gave each worker some of the 8: one worker's own count would be less than 8.
        assert.equal(total(s, 'resizer_requests_total', { status: '2xx', cache: 'miss' }), 8);
        assert.equal(total(s, 'resizer_transform_duration_seconds_count', { format: 'png' }), 8);
        if (ops.length) {
          const base = scrapeUrl.replace(/\/metrics$/, '');
          assert.equal((await getFresh(`${base}/readyz`)).status, 200);
          assert.equal((await getFresh(`${base}/healthz`)).status, 200);
          assert.equal((await getFresh(`${srv.url}/_/metrics`)).status, 404, 'metrics only on the ops port');
        }
      } finally {
        await srv.stop();
      }
    });
  }
});

/** Both workers listening: resizer_processes is 1 per process, summed by the aggregation. */
async function bothWorkersUp(scrapeUrl: string): Promise<void> {
  let seen = 0;
  for (let i = 0; i < 200; i++) {
    const res = await getFresh(scrapeUrl);
    if (res.status === 200) seen = total(parseExposition(res.body.toString()), 'resizer_processes');
    if (seen === 2) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`both workers never answered a scrape (${seen})`);
}

/** The ops port from the primary's log line. */
async function opsUrl(log: () => string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = /ops endpoints \(metrics, healthz, readyz\) on (http:\/\/[^"]+)"/.exec(log());
    if (m) return m[1]!;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no ops port in the log: ${log()}`);
}
