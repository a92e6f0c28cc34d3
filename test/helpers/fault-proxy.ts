import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of the S3 emulator: what a slow, erroring or flaky S3
 * looks like to the SDK, on the wire.
 */
export type Fault =
  | { kind: 'pass' }
  /** Holds the request this long before forwarding it (a slow S3). */
  | { kind: 'delay'; ms: number }
  /** Answers with this status and an S3 XML error body, without forwarding. */
  | { kind: 'status'; status: number; code?: string }
  /** Forwards, then sends the headers and only half of the body before cutting the connection. */
  | { kind: 'truncate' }
  /** Forwards, then sends the headers and half of the body, and then nothing more (a source stalling mid-body). */
  | { kind: 'stall' }
  /** Cuts the connection without answering. */
  | { kind: 'reset' };

export interface SeenRequest {
  method: string;
  url: string;
}

export interface FaultProxy {
  endpoint: string;
  /** Every request that reached the proxy, in order. */
  readonly seen: SeenRequest[];
  /** Applies `fault` to requests matching `when` (all by default); later rules win. */
  inject(fault: Fault, when?: (req: SeenRequest) => boolean): void;
  /** Back to forwarding everything untouched. */
  heal(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: Array<{ fault: Fault; when: (req: SeenRequest) => boolean }> = [];
  const seen: SeenRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  function forward(req: IncomingMessage, res: ServerResponse, truncate: boolean, stall = false): void {
    const out = httpRequest({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers,
    }, (up) => {
      if (!truncate) {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'content-length': String(body.length) });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => { if (!stall) res.socket?.destroy(); });
      });
    });
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  }

  const server = createServer((req, res) => {
    const info: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/' };
    seen.push(info);
    const fault = [...rules].reverse().find((r) => r.when(info))?.fault ?? { kind: 'pass' };
    switch (fault.kind) {
      case 'pass': return forward(req, res, false);
      case 'truncate': return forward(req, res, true);
      case 'stall': return forward(req, res, true, true);
      case 'reset': req.socket.destroy(); return;
      case 'status': {
        const code = fault.code ?? 'InternalError';
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected fault</Message></Error>`;
        req.resume();
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        return;
      }
      case 'delay': {
        const timer = setTimeout(() => { timers.delete(timer); if (!req.socket.destroyed) forward(req, res, false); }, fault.ms);
        timers.add(timer);
        return;
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    inject(fault, when = () => true) { rules.push({ fault, when }); },
    heal() { rules.length = 0; },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
