import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { has, parseExposition, total, type Sample } from '../helpers/prom.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => { srv = await startTestServer({ concurrency: 1 }); });
after(async () => { await srv.close(); });

async function scrape(url = srv.url): Promise<{ samples: Sample[]; text: string; type: string | null }> {
  const res = await fetch(`${url}/_/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { samples: parseExposition(text), text, type: res.headers.get('content-type') };
}

async function get(path: string): Promise<number> {
  const res = await fetch(`${srv.url}${path}`);
  await res.arrayBuffer();
  return res.status;
}

describe('/_/metrics', () => {
  it('is Prometheus text whose counters move with the requests made', async () => {
    const before = await scrape();
    assert.match(before.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(await get('/40x/png/dice.png'), 200); // miss: read, transform, store
    assert.equal(await get('/40x/png/dice.png'), 200); // hit from the hot set
    assert.equal(await get('/40x,webp/png/dice.png'), 200); // miss, another format
    assert.equal(await get('/40x/no-such.png'), 404);
    assert.equal(await get('/0x0/png/dice.png'), 400);
    const { samples: s, text } = await scrape();
    const b = before.samples;
    const moved = (name: string, labels: Record<string, string> = {}) => total(s, name, labels) - total(b, name, labels);

    assert.equal(moved('resizer_requests_total', { status: '2xx', cache: 'miss' }), 2);
    assert.equal(moved('resizer_requests_total', { status: '2xx', cache: 'hit' }), 1);
    // The first scrape is counted once it is answered; the 404 and 400 carry no cache result.
    assert.equal(moved('resizer_requests_total', { status: '2xx', cache: 'none' }), 1);
    assert.equal(moved('resizer_requests_total', { status: '4xx', cache: 'none' }), 2);
    assert.equal(moved('resizer_request_duration_seconds_count'), 6);
    assert.equal(moved('resizer_cache_lookups_total', { result: 'memory' }), 1);
    assert.equal(moved('resizer_cache_lookups_total', { result: 'miss' }), 3);
    assert.equal(moved('resizer_transform_duration_seconds_count', { format: 'png' }), 1);
    assert.equal(moved('resizer_transform_duration_seconds_count', { format: 'webp' }), 1);
    assert.equal(moved('resizer_source_read_duration_seconds_count', { store: 'fs', outcome: 'ok' }), 2);
    assert.equal(moved('resizer_source_read_duration_seconds_count', { store: 'fs', outcome: 'rejected' }), 1);
    assert.equal(moved('resizer_store_write_duration_seconds_count', { store: 'fs', outcome: 'ok' }), 2);
    assert.ok(moved('resizer_response_bytes_total') > 100);

    // Admission: gauges at rest, and every refusal reason exported (at 0) so that alerts have a series.
    assert.equal(total(s, 'resizer_admission_in_flight'), 0);
    assert.equal(total(s, 'resizer_admission_waiting'), 0);
    assert.equal(total(s, 'resizer_admission_memory_in_flight_bytes'), 0);
    assert.ok(total(s, 'resizer_admission_memory_budget_bytes') > 0);
    for (const reason of ['overloaded', 'deadline', 'client_gone', 'over_budget']) {
      assert.ok(s.some((x) => x.name === 'resizer_admission_refusals_total' && x.labels.reason === reason), reason);
    }
    // Process memory and event-loop lag (prom-client's default metrics).
    assert.ok(total(s, 'process_resident_memory_bytes') > 10 * 2 ** 20);
    assert.ok(has(s, 'nodejs_eventloop_lag_p99_seconds'));

    // Bounded labels: no key, no option segment, ever.
    assert.doesNotMatch(text, /dice|no-such|40x|webp,|0x0/);
  });

  it('shows a transform in flight and a request waiting while they are', async () => {
    // One slot: the first big transform runs, the second waits behind it.
    const slow = ['/3000x,avif/photos/Kleiber_by_Lukas_Baubkus.jpg', '/2900x,avif/photos/Kleiber_by_Lukas_Baubkus.jpg'].map((p) => get(p));
    let seen: Sample[] = [];
    for (let i = 0; i < 200; i++) {
      seen = (await scrape()).samples;
      if (total(seen, 'resizer_admission_in_flight') === 1 && total(seen, 'resizer_admission_waiting') === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(total(seen, 'resizer_admission_in_flight'), 1);
    assert.equal(total(seen, 'resizer_admission_waiting'), 1);
    assert.ok(total(seen, 'resizer_admission_memory_in_flight_bytes') > 2 ** 20);
    assert.deepEqual(await Promise.all(slow), [200, 200]);
  });

  it('is absent with --metrics off', async () => {
    const off = await startTestServer({ metrics: 'off' });
    try {
      const res = await fetch(`${off.url}/_/metrics`);
      assert.equal(res.status, 404);
      await res.arrayBuffer();
    } finally {
      await off.close();
    }
  });
});
