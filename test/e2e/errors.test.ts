import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sourceDir } from '../helpers/sources.js';

let srv: TestServer;
let src: string;

/** A minimal ISO-BMFF header of an HEVC-coded HEIC: the brand is all a server sees before decoding. */
function heicHeader(): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.writeUInt32BE(0, 12);
  ftyp.write('mif1heic', 16, 'latin1');
  return Buffer.concat([ftyp, Buffer.alloc(200, 1)]);
}

before(async () => {
  src = await sourceDir({
    'ok.jpg': 'orientation/pillow/hopper.jpg',
    'big.jpg': 'photos/Kleiber_by_Lukas_Baubkus.jpg',
    'bomb.jpg': 'bombs/issue205.jpg',
    'bomb.png': 'bombs/bug793470-crasher.png',
    'truncated.png': 'broken/truncated_image.png',
    'corrupt.png': 'broken/broken_data_stream.png',
    'truncated.jpg': 'broken/truncated_jpeg.jpg',
  });
  await writeFile(join(src, 'photo.heic'), heicHeader());
  await writeFile(join(src, 'notes.txt'), 'just some text, not an image\n');
  await writeFile(join(src, 'empty.jpg'), Buffer.alloc(0));
  srv = await startTestServer({ source: src, maxSourceBytes: 1_000_000, maxInputPixels: 30_000_000 });
});
after(async () => {
  await srv.close();
  await rm(src, { recursive: true, force: true });
});

async function expectError(path: string, status: number, message: RegExp) {
  const res = await fetch(srv.url + path);
  const text = await res.text();
  assert.equal(res.status, status, `${path}: ${text}`);
  assert.match(text, message, path);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return res;
}

describe('errors carry their status and a short message', () => {
  it('400 for a malformed segment, naming the problem', async () => {
    await expectError('/400y300/ok.jpg', 400, /"400y300"/);
    await expectError('/0x300/ok.jpg', 400, /Expected a width between 1 and 8192/);
    await expectError('/x/ok.jpg', 400, /Expected WxH, Wx or xH/);
    await expectError('/400x300', 400, /Expected \/\{options\}\/\{image\}/);
  });

  it('400 for a size over the output limit', async () => {
    await expectError('/9000x100/ok.jpg', 400, /width between 1 and 8192/);
    await expectError('/100x9000/ok.jpg', 400, /height between 1 and 8192/);
  });

  it('404 for a missing source', async () => {
    await expectError('/100x100/nope.jpg', 404, /No such image/);
    await expectError('/100x100/ok.jpg/deeper.jpg', 404, /No such image/);
  });

  it('404 for unknown service endpoints under the reserved /_/ segment', async () => {
    await expectError('/_/nope', 404, /No such service endpoint/);
  });

  it('413 for a source over the byte limit', async () => {
    await expectError('/100x100/big.jpg', 413, /over the limit of 1000000/);
  });

  it('422 for decompression bombs, without decoding them', async () => {
    await expectError('/100x100/bomb.jpg', 422, /64250x64250.*over the limit/);
    await expectError('/100x100/bomb.png', 422, /over the limit/);
  });

  it('422 for truncated or corrupt images', async () => {
    await expectError('/100x100/truncated.png', 422, /could not be decoded/);
    await expectError('/100x100/corrupt.png', 422, /could not be decoded/);
    await expectError('/100x100/truncated.jpg', 422, /could not be decoded/);
  });

  it('415 for formats the bundled libvips cannot decode, saying so', async () => {
    await expectError('/100x100/photo.heic', 415, /HEIC.*not supported/);
    await expectError('/100x100/notes.txt', 415, /Unsupported image format/);
    await expectError('/100x100/empty.jpg', 415, /Unsupported image format/);
  });

  it('leaves nothing in the cache after errors', async () => {
    const entries = await readdir(srv.cacheDir, { recursive: true });
    assert.deepEqual(entries.filter((e) => !e.startsWith('.meta')), []);
  });

  it('keeps serving after all of that', async () => {
    const res = await fetch(`${srv.url}/32x32/ok.jpg`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });
});

describe('limits are configurable', () => {
  it('max input pixels', async () => {
    const s = await startTestServer({ source: src, maxInputPixels: 10_000 });
    try {
      const res = await fetch(`${s.url}/50x50/ok.jpg`);
      assert.equal(res.status, 422);
      assert.match(await res.text(), /128x128.*over the limit of 10000 pixels/);
    } finally {
      await s.close();
    }
  });

  it('max output width and height', async () => {
    const s = await startTestServer({ source: src, maxOutputWidth: 100, maxOutputHeight: 50 });
    try {
      assert.equal((await fetch(`${s.url}/101x/ok.jpg`)).status, 400);
      assert.equal((await fetch(`${s.url}/x51/ok.jpg`)).status, 400);
      const ok = await fetch(`${s.url}/100x50/ok.jpg`);
      assert.equal(ok.status, 200);
      const meta = await sharp(Buffer.from(await ok.arrayBuffer())).metadata();
      assert.deepEqual([meta.width, meta.height], [50, 50]);
    } finally {
      await s.close();
    }
  });
});
