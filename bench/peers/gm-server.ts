/**
 * The tutorial's approach: a tiny node:http server that hands each request to GraphicsMagick through the `gm`
 * package (one `gm convert` process per request, no queue, no cache). It understands the subset of our URL
 * grammar the bench uses: /{W}x{H}[,cover],{jpeg|webp}/{path}.
 * Usage: node --import tsx bench/peers/gm-server.ts PORT DIR
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import gm from 'gm';

const [port, dir] = process.argv.slice(2);
if (!port || !dir) throw new Error('usage: gm-server.ts PORT DIR');

const TYPES: Record<string, string> = { jpeg: 'image/jpeg', webp: 'image/webp', png: 'image/png' };

createServer((req, res) => {
  const m = /^\/(\d+)x(\d+)((?:,[a-z]+)*)\/([\w.-]+(?:\/[\w.-]+)*)$/.exec(req.url ?? '');
  const tokens = (m?.[3] ?? '').split(',').filter(Boolean);
  const format = tokens.find((t) => t in TYPES) ?? 'jpeg';
  if (!m?.[4]) { res.writeHead(400).end('bad url\n'); return; }
  const w = Number(m[1]);
  const h = Number(m[2]);
  let img = gm(join(dir, m[4])).autoOrient();
  if (tokens.includes('cover')) img = img.resize(w, h, '^').gravity('Center').extent(w, h);
  else img = img.resize(w, h, '>');
  img.quality(80).strip().toBuffer(format.toUpperCase(), (err, buf) => {
    if (err) { res.writeHead(500).end(String(err.message)); return; }
    res.writeHead(200, { 'Content-Type': TYPES[format] ?? 'application/octet-stream', 'Content-Length': buf.length }).end(buf);
  });
}).listen(Number(port), '127.0.0.1');
