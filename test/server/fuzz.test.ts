/**
 * ≥ 2,000 mutated real images and a few hundred hostile URLs through the built server, as a separate process:
 * only 200, 4xx or 503 (overload) may come back, never a 500 and never a hang; every stored derivative must
 * decode; the server's resident memory must come back near where it started. Seeded, so a failure repeats.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { startServerProcess, type ServerProcess } from '../helpers/process.js';
import { FIXTURES } from '../helpers/server.js';

const MUTANTS = 2100;
const CLIENTS = 6;

/** mulberry32: small, seeded, good enough to pick bytes. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(0x5eed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const int = (n: number) => Math.floor(rand() * n);

/** Declares a huge size in the header, keeping the rest valid (PNG's CRC recomputed). */
function hugeDims(buf: Buffer, ext: string): Buffer {
  const b = Buffer.from(buf);
  if (ext === 'png') {
    b.writeUInt32BE(100_000 + int(1_000_000), 16);
    b.writeUInt32BE(100_000 + int(1_000_000), 20);
    b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
  } else if (ext === 'jpg') {
    for (let i = 2; i < b.length - 9; i++) {
      if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) { b.writeUInt16BE(65_000 + int(500), i + 5); b.writeUInt16BE(65_000 + int(500), i + 7); break; }
    }
  } else if (ext === 'gif') {
    b.writeUInt16LE(65_535, 6);
    b.writeUInt16LE(65_535, 8);
  } else if (ext === 'webp' && b.toString('latin1', 12, 16) === 'VP8X') {
    b.writeUIntLE(16_383, 24, 3);
    b.writeUIntLE(16_383, 27, 3);
  } else if (ext === 'webp' && b.toString('latin1', 12, 16) === 'VP8 ') {
    b.writeUInt16LE(16_383, 26);
    b.writeUInt16LE(16_383, 28);
  } else {
    return bitFlip(buf);
  }
  return b;
}

function bitFlip(buf: Buffer): Buffer {
  const b = Buffer.from(buf);
  for (let n = 1 + int(16); n > 0; n--) {
    const i = int(b.length);
    b[i] = (b[i] ?? 0) ^ (1 << int(8));
  }
  return b;
}

const MUTATIONS = ['truncate', 'bitflip', 'bitflip-header', 'wrong-extension', 'huge', 'splice', 'empty-ish'] as const;
const EXTS = ['jpg', 'png', 'webp', 'gif', 'avif', 'tif', 'svg'] as const;
const OPTIONS = ['64x', '32x32,cover', '50x,webp', '40x,png', 'x30,avif', '20x20,contain,bg-ff0000', 'original', '48x,blur2',
  '30x,r90', '64x,trim', '24x,jpeg,q50', '40x40,cover,attention', '16x,gif', 'webp', '36x,flip,flop'];

const HOSTILE = [
  ...['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty', 'prototype', '__defineGetter__', 'then'].flatMap((n) => [`/${n}/a.jpg`, `/64x,${n}/a.jpg`, `/_/${n}`, `/${n}`]),
  '/../../etc/passwd', '/64x/..%2f..%2fetc/passwd', '/64x/%2e%2e/%2e%2e/etc/passwd', '/64x/a.jpg%00.png', '/64x//etc/passwd',
  '/99999999x/a.jpg', '/64x99999999/a.jpg', '/0x0/a.jpg', '/-5x/a.jpg', '/1e9x/a.jpg', '/64x,q1000/a.jpg', '/64x,dpr99/a.jpg',
  '/64x,blur99999/a.jpg', '/64x,r45/a.jpg', '/64x,bg-zzzzzz/a.jpg', '/64x,fp-2-2/a.jpg', '/64x,fp-0.5/a.jpg', `/${'64x,'.repeat(200)}/a.jpg`,
  `/64x/${'a/'.repeat(600)}b.jpg`, '/64x/%zz.jpg', '/64x/%', '/%ff%fe/a.jpg', '/64x/ü.jpg', '/64x,,webp/a.jpg', '/,/a.jpg', '/64x/a.jpg?x=../../etc',
  '/s-AAAA/64x/a.jpg', `/s-${'A'.repeat(43)}/64x/a.jpg`, `/s-${'A'.repeat(43)}-1/64x/a.jpg`, '/_', '/_/', '/_/healthz/x', '//', '/', '/64x',
  '/64x,webp,avif/a.jpg', '/64x,64x/a.jpg', '/w/a.jpg', '/h0/a.jpg', '/x/a.jpg', '/@9x/a.jpg', '/64x,keep-icc,keepicc/a.jpg',
];

function hostileVariants(): string[] {
  const out = [...HOSTILE];
  while (out.length < 300) {
    const base = pick(HOSTILE);
    const i = 1 + int(Math.max(1, base.length - 1));
    const c = pick(['%', '/', ',', '.', '\\', '%2f', '%00', '~', ' ', '"', "'", '<', '\u00e9', '\uffff', '?', '#']);
    out.push(base.slice(0, i) + encodeURI(c).replace(/%25/g, '%') + base.slice(i));
  }
  return out;
}

/** Every file under `dir`, skipping the store's metadata tree. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await files(p));
    else out.push(p);
  }
  return out;
}

function rssMiB(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1]) / 1024);
}

describe('fuzz: mutated images and hostile URLs through the running server', () => {
  let src: string;
  let cache: string;
  let srv: ServerProcess;
  const requests: string[] = [];

  before(async () => {
    src = await mkdtemp(join(tmpdir(), 'resizer-fuzz-src-'));
    cache = await mkdtemp(join(tmpdir(), 'resizer-fuzz-cache-'));
    const hopper = await readFile(join(FIXTURES, 'orientation/pillow/hopper.jpg'));
    const seeds: Record<(typeof EXTS)[number], Buffer[]> = {
      jpg: [hopper, await readFile(join(FIXTURES, 'orientation/pillow/hopper_orientation_5.jpg'))],
      png: [await readFile(join(FIXTURES, 'png/pngsuite/basn6a08.png')), await readFile(join(FIXTURES, 'png/pngsuite/ibasn0g16.png'))],
      webp: [await readFile(join(FIXTURES, 'orientation/pillow/hopper_orientation_5.webp')), await sharp(hopper).resize(48).webp({ lossless: true }).toBuffer()],
      gif: [await readFile(join(FIXTURES, 'anim/dispose-previous.gif')), await readFile(join(FIXTURES, 'anim/cogs.gif'))],
      avif: [await sharp(hopper).resize(48).avif({ effort: 0 }).toBuffer()],
      tif: [await sharp(hopper).resize(48).tiff().toBuffer()],
      svg: [await readFile(join(FIXTURES, 'svg/logo.svg'))],
    };
    await mkdir(join(src, 'm'));
    for (let i = 0; i < MUTANTS; i++) {
      // SVG mutants each start a rasteriser process: a few of them, not a seventh.
      const ext = i % 50 === 0 ? 'svg' : pick(EXTS.filter((e) => e !== 'svg'));
      const seed = pick(seeds[ext]);
      const kind = pick(MUTATIONS);
      let body: Buffer;
      let name = `${i}.${ext}`;
      switch (kind) {
        case 'truncate': body = seed.subarray(0, int(seed.length)); break;
        case 'bitflip': body = bitFlip(seed); break;
        case 'bitflip-header': { body = Buffer.from(seed); const j = int(Math.min(64, body.length)); body[j] = (body[j] ?? 0) ^ (1 << int(8)); break; }
        case 'wrong-extension': body = seed; name = `${i}.${pick(EXTS.filter((e) => e !== ext))}`; break;
        case 'huge': body = hugeDims(seed, ext); break;
        case 'splice': { const other = pick(seeds[pick(EXTS)]); body = Buffer.concat([seed.subarray(0, 32 + int(64)), other.subarray(int(other.length))]); break; }
        case 'empty-ish': body = seed.subarray(0, int(16)); break;
      }
      await writeFile(join(src, 'm', name), body);
      requests.push(`/${pick(OPTIONS)}/m/${encodeURIComponent(name)}`);
    }
    await writeFile(join(src, 'a.jpg'), hopper);
    requests.push(...hostileVariants());
    srv = await startServerProcess(['--source', src, '--cache', cache, '--port', '0', '--concurrency', '2', '--queue-size', '32', '--transform-timeout', '10', '--log-level', 'info']);
  });
  after(async () => {
    await srv?.stop();
    await rm(src, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
  });

  it('answers every one with 200, 4xx or 503: no 500, no hang; stores only decodable images; memory comes back', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${srv.url}/${40 + i}x/a.jpg`)).status, 200);
    const baseline = await rssMiB(srv.pid);
    const counts = new Map<number, number>();
    const bad: string[] = [];
    let next = 0;
    const started = Date.now();
    const client = async () => {
      while (next < requests.length) {
        const path = requests[next++] ?? '/';
        const res = await fetch(srv.url + path, { signal: AbortSignal.timeout(30_000) }).catch((err: Error) => ({ status: -1, text: async () => err.message }));
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        const ok = res.status === 200 || res.status === 503 || (res.status >= 400 && res.status < 500);
        if (!ok) bad.push(`${res.status} ${path}: ${(await res.text()).slice(0, 200)}`);
        else if ('body' in res) await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const seconds = (Date.now() - started) / 1000;
    console.log(`# ${requests.length} requests in ${seconds.toFixed(1)} s: ${[...counts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    assert.deepEqual(bad, []);
    assert.ok(requests.length >= MUTANTS + 300);
    assert.ok((counts.get(200) ?? 0) > 100, 'some mutants still decode');
    assert.ok([...counts.keys()].some((s) => s >= 400 && s < 500));

    const stored = await files(cache);
    for (const file of stored) {
      await assert.doesNotReject(sharp(await readFile(file), { failOn: 'error' }).raw().toBuffer(), file);
    }
    console.log(`# ${stored.length} stored derivatives, all decode`);

    await sleep(1500);
    const afterRss = await rssMiB(srv.pid);
    console.log(`# RSS ${baseline.toFixed(0)} MiB before, ${afterRss.toFixed(0)} MiB after`);
    assert.ok(afterRss < baseline + 120, `RSS ${baseline.toFixed(0)} → ${afterRss.toFixed(0)} MiB`);
    assert.equal((await fetch(`${srv.url}/_/healthz`)).status, 200);
  });
});
