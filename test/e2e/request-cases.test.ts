import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { DEFAULTS, type Config } from '../../src/config/index.js';
import { createHandler } from '../../src/lambda/adapter.js';
import { buildLambdaApps } from '../../src/lambda/apps.js';
import { buildApp } from '../../src/runtime.js';
import { createHttpServer, listen } from '../../src/server/http.js';
import { sourceDir } from '../helpers/sources.js';
import { runCases, type Answer } from './request-cases.js';

const silent = pino({ level: 'silent' });

describe('one request table through every transport', () => {
  let src: string;
  const caches: string[] = [];
  before(async () => {
    src = await sourceDir({
      'png/rgba.png': 'png/rgba.png', 'odd/été photo.png': 'png/rgba.png', 'README.md': 'README.md', 'broken/truncated_jpeg.jpg': 'broken/truncated_jpeg.jpg',
    });
  });
  after(async () => {
    await rm(src, { recursive: true, force: true });
    for (const c of caches) await rm(c, { recursive: true, force: true });
  });
  async function config(): Promise<Config> {
    const cache = await mkdtemp(join(tmpdir(), 'resizer-cases-'));
    caches.push(cache);
    return { ...DEFAULTS, source: src, cache, logLevel: 'silent' };
  }

  it('handle() directly', async () => {
    const app = await buildApp(await config(), silent);
    await runCases(async (c) => {
      const out = await app.handle({ method: c.method ?? 'GET', url: c.path, headers: c.headers ?? {} });
      return { status: out.status, headers: lower(out.headers), body: Buffer.from(out.body ?? '') };
    });
  });

  it('the Node HTTP adapter, over a real socket', async () => {
    const server = createHttpServer(await buildApp(await config(), silent), silent);
    const { port } = await listen(server, 0, '127.0.0.1');
    try {
      await runCases(async (c) => {
        const res = await fetch(`http://127.0.0.1:${port}${c.path}`, { method: c.method ?? 'GET', headers: c.headers ?? {} });
        const headers: Record<string, string> = {};
        res.headers.forEach((v, k) => { headers[k] = v; });
        return { status: res.status, headers, body: Buffer.from(await res.arrayBuffer()) };
      });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('the Lambda adapter, with Function URL events', async () => {
    const handler = createHandler(await buildLambdaApps(await config(), silent));
    await runCases(async (c): Promise<Answer> => {
      const result = await handler({
        version: '2.0', routeKey: '$default', rawPath: c.path, rawQueryString: '', headers: c.headers ?? {},
        requestContext: { http: { method: c.method ?? 'GET', path: decodeURI(c.path), protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } },
        isBase64Encoded: false,
      } as unknown as Parameters<typeof handler>[0]);
      const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '');
      return { status: result.statusCode ?? 0, headers: lower((result.headers ?? {}) as Record<string, string>), body };
    });
  });
});

function lower(headers: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
