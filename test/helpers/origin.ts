import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { listen } from '../../src/server/http.js';

export interface TestOrigin {
  port: number;
  /** Paths the origin was asked for, in order. */
  hits: string[];
  /** `/images/{name}` answers a redirect to the given URL. */
  redirects: Map<string, string>;
  /** `/images/{name}` answers with this handler's behaviour instead of a file. */
  special: Map<string, 'stall' | 'chunked-big' | 'no-version'>;
  close(): Promise<void>;
}

/** A plain HTTP origin over a folder at `/images/`: ETag, Last-Modified, HEAD and If-None-Match, as CDNs and buckets do. */
export async function startOrigin(root: string): Promise<TestOrigin> {
  const hits: string[] = [];
  const redirects = new Map<string, string>();
  const special = new Map<string, 'stall' | 'chunked-big' | 'no-version'>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      hits.push(url);
      const name = decodeURIComponent(url.replace(/^\/images\//, '').split('?')[0] ?? '');
      const to = redirects.get(name);
      if (to) { res.writeHead(302, { Location: to }).end(); return; }
      const kind = special.get(name);
      if (kind === 'stall') { res.writeHead(200, { 'Content-Length': '1000' }); res.write('x'); return; }
      if (kind === 'chunked-big') {
        res.writeHead(200, { ETag: '"big"' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(64 * 1024, i));
        res.end();
        return;
      }
      if (!url.startsWith('/images/')) { res.writeHead(404).end(); return; }
      const path = join(root, name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isFile()) { res.writeHead(404).end(); return; }
      const body = await readFile(path);
      const headers: Record<string, string> = kind === 'no-version' ? {} : {
        ETag: `"${createHash('sha1').update(body).digest('hex')}"`,
        'Last-Modified': st.mtime.toUTCString(),
      };
      if (headers.ETag && req.headers['if-none-match'] === headers.ETag) { res.writeHead(304, headers).end(); return; }
      res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    })().catch(() => res.destroy());
  });
  const addr = await listen(server, 0, '127.0.0.1');
  return {
    port: addr.port, hits, redirects, special,
    async close() { server.closeAllConnections(); await new Promise<void>((r) => server.close(() => r())); },
  };
}
