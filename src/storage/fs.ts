import { createHash, randomBytes } from 'node:crypto';
import { contentEtag } from './content-hash.js';
import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { InternalError, NotFound, PayloadTooLarge, quote, ResizerError, ServiceUnavailable } from '../errors/index.js';
import { validateKey } from '../keys/index.js';
import type {
  DerivativeStore, DerivativeWrite, SourceEntry, SourceInfo, SourceFile, SourceListOptions, SourceObject, SourceReadOptions,
  SourceStore, StoredDerivative,
} from './types.js';

/** Sidecar metadata lives in a parallel tree whose name cannot be a transform segment. */
const META_DIR = '.meta';
/**
 * Final derivatives are also linked (a hard link: no extra bytes) at `.typed/{key}.{format}`, so that a file server
 * learns the Content-Type from the name even when the format is not the key's extension (`webp` in the segment, a
 * PNG made from an SVG, a lying extension). nginx's try_files tries each format (README, "nginx in front").
 */
const TYPED_DIR = '.typed';
export const TYPED_EXTENSIONS = ['jpeg', 'png', 'webp', 'avif', 'gif'] as const;

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG';
}

/** Running out of descriptors or a busy file passes; permissions and I/O errors need an operator. */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY']);

function storageFailure(err: unknown, what: string): ResizerError {
  if (err instanceof ResizerError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (TRANSIENT.has(code)) return new ServiceUnavailable(`Storage busy while ${what}`, 1, { cause: err });
  return new InternalError(`Storage error while ${what}`, { cause: err });
}

/** Resolves a validated key under root; the realpath check refuses symlinks that leave the root. */
async function resolveInside(root: string, key: string): Promise<string> {
  const path = join(root, validateKey(key));
  let real: string;
  try {
    real = await fsp.realpath(path);
  } catch (err) {
    if (isMissing(err)) throw new NotFound(`No such image: ${quote(key)}`);
    throw storageFailure(err, 'resolving a key');
  }
  if (real !== root && !real.startsWith(root + sep)) throw new NotFound(`No such image: ${quote(key)}`);
  return real;
}

/**
 * A file of known size in as few reads as the kernel allows (one, for a file in the page cache). FileHandle.readFile
 * reads 512 KiB at a time, each a round trip through libuv's thread pool: 9 of them for a 4 MB photo, ~0.3 ms more
 * per miss (bench/miss-ab.ts). A file that shrank meanwhile is returned as read.
 */
async function readWhole(handle: fsp.FileHandle, size: number, signal?: AbortSignal): Promise<Buffer> {
  signal?.throwIfAborted();
  const body = Buffer.allocUnsafeSlow(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await handle.read(body, offset, size - offset, offset);
    if (bytesRead === 0) break;
    offset += bytesRead;
  }
  return offset === size ? body : body.subarray(0, offset);
}

/**
 * Sources up to this size are read whole; larger ones are opened by libvips itself. Reading a small file costs
 * less than a second open, and its buffer is too small to press the garbage collector.
 */
const WHOLE_READ_BYTES = 256 * 1024;
/** What the format sniffer looks at (src/pipeline/formats.ts). */
const HEAD_BYTES = 4096;

/** libvips reads a name ending in `[...]` as a file name and load options (`photo.jpg[shrink=8]`): such a file comes as bytes. */
const openableByName = (path: string) => !path.endsWith(']');

/** The path still names the file that was opened: not replaced (inode), not rewritten (size, times), not a link. */
async function sameFile(path: string, was: import('node:fs').Stats): Promise<boolean> {
  try {
    const now = await fsp.lstat(path);
    return now.isFile() && now.ino === was.ino && now.dev === was.dev && now.size === was.size
      && now.mtimeMs === was.mtimeMs && now.ctimeMs === was.ctimeMs;
  } catch {
    return false;
  }
}

function fsEtag(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}

export class FsSourceStore implements SourceStore {
  readonly description: string;
  private rootReal: Promise<string>;

  constructor(root: string) {
    const abs = resolve(root);
    this.description = `fs:${abs}`;
    this.rootReal = fsp.realpath(abs);
    this.rootReal.catch(() => undefined);
  }

  async head(key: string): Promise<SourceInfo | null> {
    try {
      const path = await resolveInside(await this.rootReal, key);
      const st = await fsp.stat(path);
      if (!st.isFile()) return null;
      return { size: st.size, etag: fsEtag(st.size, st.mtimeMs), lastModified: st.mtime };
    } catch (err) {
      if (err instanceof NotFound) return null;
      throw storageFailure(err, 'reading source metadata');
    }
  }

  get(key: string, options: SourceReadOptions): Promise<SourceObject> {
    return this.read(key, options, Infinity) as Promise<SourceObject>;
  }

  open(key: string, options: SourceReadOptions): Promise<SourceObject | SourceFile> {
    return this.read(key, options, WHOLE_READ_BYTES);
  }

  /** Reads a source whole when it is at most `wholeUpTo` bytes, else only its head, for libvips to open by path. */
  private async read(key: string, options: SourceReadOptions, wholeUpTo: number): Promise<SourceObject | SourceFile> {
    const path = await resolveInside(await this.rootReal, key);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (isMissing(err)) throw new NotFound(`No such image: ${quote(key)}`);
      throw storageFailure(err, 'opening a source');
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new NotFound(`No such image: ${quote(key)}`);
      if (st.size > options.maxBytes) {
        throw new PayloadTooLarge(`Source is ${st.size} bytes, over the limit of ${options.maxBytes}`);
      }
      const etag = fsEtag(st.size, st.mtimeMs);
      if (st.size > wholeUpTo && openableByName(path)) {
        const head = await readWhole(handle, HEAD_BYTES, options.signal);
        return { path, head, size: st.size, etag, lastModified: st.mtime, unchanged: () => sameFile(path, st) };
      }
      const body = await readWhole(handle, st.size, options.signal);
      return { body, size: body.length, etag, lastModified: st.mtime };
    } catch (err) {
      throw storageFailure(err, 'reading a source');
    } finally {
      await handle.close();
    }
  }

  async *list(options: SourceListOptions = {}): AsyncIterable<SourceEntry> {
    let root: string;
    try {
      root = await this.rootReal;
    } catch (err) {
      if (isMissing(err)) return;
      throw storageFailure(err, 'listing sources');
    }
    yield* walk(root, '', options.prefix ?? '', options.after ?? '');
  }
}

/** A folder's entries; none when it does not exist (an empty store or prefix). */
async function entriesOf(dir: string, what: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw storageFailure(err, what);
  }
}

/** Byte order of the UTF-8 keys: the order S3 lists in, so `after` means the same in both stores. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Depth first, one directory's names in memory at a time. Entries are sorted as the keys they lead to
 * (`name/` for a folder), so the walk yields keys in global key order. Symlinks are not followed (loops, and
 * links out of the root, which get() refuses anyway); names no URL could reach are left out.
 */
async function* walk(dir: string, base: string, prefix: string, after: string): AsyncIterable<SourceEntry> {
  const named = (await entriesOf(dir, 'listing sources'))
    .filter((e) => e.isFile() || e.isDirectory())
    .map((e) => ({ e, key: base + e.name + (e.isDirectory() ? '/' : '') }))
    .sort((a, b) => byteOrder(a.key, b.key));
  for (const { e, key } of named) {
    if (e.isDirectory()) {
      const inPrefix = key.startsWith(prefix) || prefix.startsWith(key);
      // Every key below `key/` is after `after` when the folder sorts after it, or when `after` lies inside it.
      const pastAfter = after === '' || byteOrder(key, after) > 0 || after.startsWith(key);
      if (inPrefix && pastAfter) yield* walk(join(dir, e.name), key, prefix, after);
      continue;
    }
    if (!key.startsWith(prefix) || (after !== '' && byteOrder(key, after) <= 0) || !isValidKey(key)) continue;
    const st = await fsp.stat(join(dir, e.name)).catch((err: unknown) => {
      if (isMissing(err)) return undefined; // deleted while listing
      throw storageFailure(err, 'listing sources');
    });
    if (st) yield { key, size: st.size, lastModified: st.mtime };
  }
}

function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

export class FsDerivativeStore implements DerivativeStore {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.description = `fs:${this.root}`;
  }

  private paths(key: string): { data: string; meta: string; typed: string } {
    const safe = validateKey(key);
    return { data: join(this.root, safe), meta: join(this.root, META_DIR, sidecarName(safe)), typed: join(this.root, TYPED_DIR, safe) };
  }

  /** Removes temp files a crash left behind (older than `olderThanMs`, so a live writer's are kept). */
  sweep(olderThanMs: number): Promise<number> {
    return sweepTemps(this.root, Date.now() - olderThanMs);
  }

  async get(key: string): Promise<StoredDerivative | null> {
    const { data, meta } = this.paths(key);
    // The image and its sidecar are two files, replaced one after the other: a read between the two renames would
    // pair new metadata with old bytes (a provisional image marked final, an old one marked as made from a new source).
    // The sidecar names the bytes it describes; a mismatch is read again, and one that lasts is treated as missing
    // (two writers crossed, or a crash came between the renames): the derivative is made again.
    for (let attempt = 0; ; attempt++) {
      const read = await readPair(data, meta);
      if (read === null) return null;
      const { body, mtime, sidecar } = read;
      const etag = contentEtag(body);
      if (sidecar.etag === undefined || sidecar.etag === etag) {
        return { body, etag, lastModified: mtime, contentType: sidecar.contentType ?? 'application/octet-stream', metadata: sidecar.metadata ?? {} };
      }
      if (attempt === PAIR_RETRIES) return null;
      await new Promise((r) => setTimeout(r, PAIR_RETRY_MS * (attempt + 1)));
    }
  }

  async put(key: string, body: Buffer, write: DerivativeWrite): Promise<void> {
    const { data, meta, typed } = this.paths(key);
    const extension = TYPED_EXTENSIONS.find((e) => write.contentType === `image/${e}`);
    try {
      // A file server must stop serving the old bytes before provisional ones replace them.
      if (!write.servable) await removeTyped(typed);
      // Sidecar first: a reader that finds the image finds its metadata too.
      const sidecar: Sidecar = { contentType: write.contentType, metadata: write.metadata ?? {}, etag: contentEtag(body) };
      await atomicWrite(meta, Buffer.from(JSON.stringify(sidecar)));
      await atomicWrite(data, body);
      if (write.servable && extension) await atomicLink(data, `${typed}.${extension}`);
    } catch (err) {
      throw storageFailure(err, 'writing a derivative');
    }
  }

  async delete(key: string): Promise<void> {
    const { data, meta, typed } = this.paths(key);
    try {
      await Promise.all([fsp.rm(data, { force: true }), fsp.rm(meta, { force: true }), removeTyped(typed)]);
    } catch (err) {
      throw storageFailure(err, 'deleting a derivative');
    }
  }

  async *listSegments(): AsyncIterable<string> {
    for (const e of await entriesOf(this.root, 'listing derivatives')) if (e.isDirectory() && e.name !== META_DIR && e.name !== TYPED_DIR) yield e.name;
  }

  async *listKeys(prefix: string): AsyncIterable<string> {
    // Keys under a folder prefix (`a/b/`): the walk starts in that folder rather than at the root.
    const folder = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* walkKeys(join(this.root, folder), folder, prefix);
  }
}

/** What `.meta/{key}.json` holds; `etag` (absent in sidecars of older versions) names the bytes it describes. */
interface Sidecar {
  contentType?: string;
  metadata?: Record<string, string>;
  etag?: string;
}

/** Reads of an image whose sidecar names other bytes: a writer between its two renames is done within these. */
const PAIR_RETRIES = 5;
const PAIR_RETRY_MS = 20;

async function readPair(data: string, meta: string): Promise<{ body: Buffer; mtime: Date; sidecar: Sidecar } | null> {
  let body: Buffer;
  let mtime: Date;
  try {
    const handle = await fsp.open(data, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await handle.stat();
      if (!st.isFile()) return null;
      mtime = st.mtime;
      body = await readWhole(handle, st.size);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isMissing(err)) return null;
    throw storageFailure(err, 'reading a derivative');
  }
  let sidecar: Sidecar = {};
  try {
    sidecar = JSON.parse(await fsp.readFile(meta, 'utf8')) as Sidecar;
  } catch {
    // No sidecar (e.g. files placed by hand): the content type is sniffed by the caller.
  }
  return { body, mtime, sidecar };
}

async function* walkKeys(dir: string, base: string, prefix: string): AsyncIterable<string> {
  for (const e of await entriesOf(dir, 'listing derivatives')) {
    const key = base + e.name;
    if (e.isDirectory() && (key + '/').startsWith(prefix.slice(0, key.length + 1))) yield* walkKeys(join(dir, e.name), key + '/', prefix);
    else if (e.isFile() && key.startsWith(prefix) && !e.name.endsWith('.tmp')) yield key;
  }
}

async function removeTyped(typed: string): Promise<void> {
  await Promise.all(TYPED_EXTENSIONS.map((e) => fsp.rm(`${typed}.${e}`, { force: true })));
}

/**
 * A hard link under a temp name, then rename: the typed name moves to the new bytes in one step. The temp name is
 * the short one atomicWrite uses: `{name}.{format}.{hex}.tmp` passed 255 bytes for keys atomicWrite accepts, and
 * the whole put failed after the image was written. A typed name itself too long is not made (nginx then passes
 * the request to resizer, which serves it).
 */
async function atomicLink(target: string, path: string): Promise<void> {
  if (Buffer.byteLength(basename(path)) > NAME_MAX) return;
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.link(target, tmp);
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Most file systems (ext4, xfs, btrfs, tmpfs) allow 255 bytes per name. */
const NAME_MAX = 255;

/**
 * The sidecar of `400x/a.jpg` is `.meta/400x/a.jpg.json`. A name within 5 bytes of the limit would pass it with
 * `.json`, so its sidecar is named by a hash instead (`~` + 40 hex; no image's own sidecar name looks like that
 * unless the image is itself named `~<hash>`, and then it holds the same metadata layout anyway).
 */
export function sidecarName(key: string): string {
  const name = basename(key);
  if (Buffer.byteLength(name) + '.json'.length <= NAME_MAX) return `${key}.json`;
  const hashed = `~${createHash('sha256').update(name).digest('hex').slice(0, 40)}.json`;
  return key.slice(0, key.length - name.length) + hashed;
}

/** Temp names are short and fixed-length (`.<12 hex>.tmp`), so any name the target can have, its temp can too. */
const TEMP_NAME = /^\.[0-9a-f]{12}\.tmp$/;
/** Before temp names were short, they were `<name>.<12 hex>.tmp`; crashes may have left some of those. */
const OLD_TEMP_NAME = /\.[0-9a-f]{12}\.tmp$/;

/**
 * Temp file in the same directory, fsynced, then renamed: readers never see a partial file, and after a power
 * loss the name points at the whole new file or the old one (ext4 and xfs may otherwise commit the rename before
 * the data, leaving an empty file under the final name). The directory itself is not fsynced: a rename lost in
 * a crash only means a miss, made again on the next request.
 */
export async function atomicWrite(path: string, body: Buffer): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fsp.open(tmp, 'wx');
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Depth first under root, one directory at a time: removes temp files modified before `before`; returns the count. */
export async function sweepTemps(root: string, before: number): Promise<number> {
  let removed = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(root, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return 0;
    throw err;
  }
  for (const e of entries) {
    const path = join(root, e.name);
    if (e.isDirectory()) {
      removed += await sweepTemps(path, before);
    } else if (e.isFile() && (TEMP_NAME.test(e.name) || OLD_TEMP_NAME.test(e.name))) {
      const st = await fsp.stat(path).catch(() => undefined);
      if (st && st.mtimeMs < before && await fsp.rm(path).then(() => true, () => false)) removed++;
    }
  }
  return removed;
}
