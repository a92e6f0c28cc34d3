import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Logger } from '../../src/app.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Line { level: string; msg?: string; [field: string]: unknown }

/** Keeps every line the app logs. */
function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => { lines.push({ ...obj, level, msg }); };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const requests = (l: Line[]) => l.filter((x) => x.reqId !== undefined);

describe('access log', () => {
  let srv: TestServer;
  const logger = recordingLogger();
  before(async () => { srv = await startTestServer({}, { logger }); });
  after(async () => { await srv.close(); });

  async function get(path: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: Buffer; line: Line }> {
    const n = requests(logger.lines).length;
    const res = await fetch(srv.url + path, { headers });
    const body = Buffer.from(await res.arrayBuffer());
    const lines = requests(logger.lines).slice(n);
    assert.equal(lines.length, 1, `one line per request: ${JSON.stringify(lines)}`);
    return { res, body, line: lines[0]! };
  }

  it('one line per request: id, method, path, status, duration, cache, bytes, admission wait', async () => {
    const miss = await get('/40x/png/dice.png', { 'X-Request-Id': 'edge-42.abc' });
    assert.equal(miss.res.headers.get('x-request-id'), 'edge-42.abc');
    assert.equal(miss.line.reqId, 'edge-42.abc');
    assert.deepEqual(
      [miss.line.level, miss.line.method, miss.line.path, miss.line.status, miss.line.cache, miss.line.bytes],
      ['info', 'GET', '/40x/png/dice.png', 200, 'MISS', miss.body.length],
    );
    assert.equal(typeof miss.line.ms, 'number');
    assert.equal(typeof miss.line.queuedMs, 'number');
    const hit = await get('/40x/png/dice.png');
    assert.equal(hit.line.cache, 'HIT');
    assert.equal(hit.line.queuedMs, undefined);
    // Generated when missing, and when the incoming one is not a plausible id (log injection).
    assert.match(hit.res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(hit.line.reqId, hit.res.headers.get('x-request-id'));
    const odd = await get('/40x/png/dice.png', { 'X-Request-Id': 'a b"}\\n{"level":"fatal' });
    assert.match(String(odd.line.reqId), /^[0-9a-f-]{36}$/);
  });

  it('errors carry their internal cause; the client sees only the public message', async () => {
    const { res, body, line } = await get('/100x/broken/truncated_jpeg.jpg');
    assert.equal(res.status, 422);
    assert.doesNotMatch(body.toString(), /vips/i);
    assert.match(String(line.internal), /VipsJpeg|premature end/);
    const refused = await get('/0x0/png/dice.png');
    assert.equal(refused.line.status, 400);
    assert.match(String(refused.line.internal), /BadRequest/);
  });

  it('never logs a signature or the query string', async () => {
    const n = logger.lines.length;
    const { line } = await get('/s-c2VjcmV0LXNpZ25hdHVyZQ/40x/png/dice.png?token=hunter2&X-Amz-Signature=abc123');
    assert.equal(line.path, '/s-[redacted]/40x/png/dice.png');
    const all = JSON.stringify(logger.lines.slice(n));
    assert.doesNotMatch(all, /c2VjcmV0LXNpZ25hdHVyZQ|hunter2|abc123/);
  });

  it('samples hits with --log-hit-percent, never misses or errors', async () => {
    const quiet = recordingLogger();
    const sampled = await startTestServer({ logHitPercent: 0 }, { logger: quiet });
    try {
      for (const path of ['/30x/png/dice.png', '/30x/png/dice.png', '/30x/png/dice.png', '/30x/no-such.png']) {
        const res = await fetch(sampled.url + path);
        await res.arrayBuffer();
      }
      assert.deepEqual(requests(quiet.lines).map((l) => [l.status, l.cache]), [[200, 'MISS'], [404, undefined]]);
    } finally {
      await sampled.close();
    }
  });
});
