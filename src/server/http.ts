import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, AppRequest, Logger } from '../app.js';

/** The Node HTTP adapter: translates to and from the app's transport-neutral types, nothing else. */
export function createHttpServer(app: App, logger: Logger): Server {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
    void serve(app, req, res, logger);
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

async function serve(app: App, req: IncomingMessage, res: ServerResponse, logger: Logger): Promise<void> {
  const appReq: AppRequest = {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers as Record<string, string | undefined>,
  };
  try {
    const out = await app.handle(appReq);
    if (res.destroyed) return;
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  } catch (err) {
    logger.error({ err }, 'adapter failure');
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('500 Internal server error\n');
  }
}

export async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server.address() as AddressInfo;
}
