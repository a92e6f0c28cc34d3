import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, AppRequest, AppResponse, Logger } from '../app.js';
import { clientErrorResponse, originForm } from './client-error.js';

export interface HttpServerOptions {
  /** Time a client has to send its headers (408 after); Node's check runs every connectionsCheckingIntervalMs. */
  headersTimeoutMs?: number;
  connectionsCheckingIntervalMs?: number;
}

/** The Node HTTP adapter: translates to and from the app's transport-neutral types, nothing else. */
export function createHttpServer(app: App, logger: Logger, opts: HttpServerOptions = {}): Server {
  const headersTimeout = opts.headersTimeoutMs ?? 20_000;
  const server = createServer({
    keepAliveTimeout: 65_000,
    requestTimeout: Math.max(60_000, headersTimeout),
    headersTimeout,
    connectionsCheckingInterval: opts.connectionsCheckingIntervalMs ?? 30_000,
  }, (req, res) => {
    serve(app, req, res, logger);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable) socket.end(clientErrorResponse(err.code));
  });
  return server;
}

function serve(app: App, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  const gone = new AbortController();
  // 'close' before the response ended: the client left, and a request still waiting in the queue can leave too.
  res.once('close', () => { if (!res.writableFinished) gone.abort(); });
  const appReq: AppRequest = {
    method: req.method ?? 'GET',
    url: originForm(req.url ?? '/'),
    headers: req.headers as Record<string, string | undefined>,
    signal: gone.signal,
  };
  // Plain promise callbacks rather than an async function: one less promise per request on the hit path.
  app.handle(appReq).then((out) => send(res, out, logger), (err: unknown) => fail(res, err, logger));
}

function send(res: ServerResponse, out: AppResponse, logger: Logger): void {
  if (res.destroyed) return;
  try {
    res.writeHead(out.status, out.headers);
    res.end(out.body);
  } catch (err) {
    fail(res, err, logger);
  }
}

function fail(res: ServerResponse, err: unknown, logger: Logger): void {
  logger.error({ err }, 'adapter failure');
  if (res.destroyed) return;
  if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
  res.end('500 Internal server error\n');
}

export async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server.address() as AddressInfo;
}
