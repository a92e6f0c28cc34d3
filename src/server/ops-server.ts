import { createServer, type Server } from 'node:http';

/** What the ops port answers: metrics and readiness, from this process or gathered from the workers. */
export interface OpsSource {
  metrics?(): Promise<{ contentType: string; text: string }>;
  ready(): Promise<boolean>;
}

/**
 * `--metrics-port`: metrics, liveness and readiness on a port of their own, so they need not be public. It stays
 * open through a drain (the serving port closes at once), so readiness can be seen saying 503 meanwhile.
 */
export function createOpsServer(source: OpsSource, logger: { error(obj: object, msg?: string): void }): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!.replace(/^\/_\//, '/');
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const failed = (err: unknown) => {
      logger.error({ err }, 'ops endpoint failed');
      text(500, 'failed\n');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/healthz') return text(200, 'ok\n');
    if (path === '/readyz') return void source.ready().then((ok) => text(ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n'), failed);
    if (path === '/metrics' && source.metrics) return void source.metrics().then((m) => text(200, m.text, m.contentType), failed);
    text(404, 'not found\n');
  });
}
