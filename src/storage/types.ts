/**
 * Storage contracts. Every implementation (fs, s3) passes test/storage/contract.ts.
 * Implementations throw only ResizerError subclasses (NotFound, PayloadTooLarge, BadGateway, GatewayTimeout,
 * ServiceUnavailable) — never a transport library's own error.
 */

/** Version information of a source object: enough to tell whether a derivative is stale. */
export interface SourceInfo {
  size: number;
  /** Opaque version token of the source (S3 ETag, or size+mtime on disk). Quoted like an HTTP ETag. */
  etag: string;
  lastModified: Date;
  contentType?: string;
}

export interface SourceObject extends SourceInfo {
  body: Buffer;
}

/**
 * A local source that libvips opens by name, so that a large file never passes through JS memory (no copy, no
 * garbage-collector pressure from multi-megabyte buffers: docs/benchmarks.md, "Miss path against the bare loop").
 */
export interface SourceFile extends SourceInfo {
  /** Absolute path of the file, inside the store's root. */
  path: string;
  /** The file's first bytes: enough to tell its format before any decoder parses it. */
  head: Buffer;
  /**
   * Whether the file at `path` is still the version described (same inode, size and times). Asked after libvips has
   * read it: a file replaced or rewritten meanwhile may have given pixels of another version than `etag` names.
   */
  unchanged(): Promise<boolean>;
}

export interface SourceReadOptions {
  /** Refuse (PayloadTooLarge) a source over this many bytes, without reading it all. */
  maxBytes: number;
  signal?: AbortSignal;
}

/** One source in a listing: enough to show it and to count bytes, without reading it. */
export interface SourceEntry {
  key: string;
  size: number;
  lastModified: Date;
}

export interface SourceListOptions {
  /** Only keys starting with this string (a plain string prefix, as S3's, not necessarily a folder). */
  prefix?: string;
  /** Only keys after this one: resumes a listing where a previous page ended. */
  after?: string;
  /** Keys fetched per request where the store pages (S3 MaxKeys); a hint, not a limit on what is yielded. */
  pageSize?: number;
}

export interface SourceStore {
  /** Human-readable location, e.g. `fs:/srv/images` or `s3://bucket/prefix`. */
  readonly description: string;
  /** Reads a whole source. Throws NotFound when missing, PayloadTooLarge over maxBytes. */
  get(key: string, options: SourceReadOptions): Promise<SourceObject>;
  /**
   * Optional, for local stores: a large source as a file for libvips to read itself, a small one as its bytes.
   * Same errors as `get`.
   */
  open?(key: string, options: SourceReadOptions): Promise<SourceObject | SourceFile>;
  /** Version info without the bytes; null when the source does not exist. */
  head(key: string): Promise<SourceInfo | null>;
  /**
   * Every source, recursively, in ascending key order (UTF-8 byte order, as S3 lists), streamed: the listing is
   * fetched page by page as it is consumed, so a million keys never sit in memory. Optional: a store that cannot
   * list still serves images; warm-up and the playground need it.
   */
  list?(options?: SourceListOptions): AsyncIterable<SourceEntry>;
}

export interface DerivativeWrite {
  contentType: string;
  cacheControl?: string;
  /** Small string metadata, e.g. the source's ETag the derivative was made from. Keys are lower-case. */
  metadata?: Record<string, string>;
  /**
   * The bytes are final: a file server in front of the store may serve them as they are, for as long as the
   * Cache-Control says (the fs store then names them by format under `.typed/`, for nginx; see README, "nginx in front").
   * Provisional bytes are not: their short Cache-Control must come from resizer.
   */
  servable?: boolean;
}

export interface StoredDerivative {
  body: Buffer;
  /** Strong ETag of the stored bytes (quoted). */
  etag: string;
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
}

export interface DerivativeStore {
  readonly description: string;
  /** The stored derivative, or null when there is none. */
  get(key: string): Promise<StoredDerivative | null>;
  /** Stores atomically: readers see the whole new object or nothing, never a partial one. */
  put(key: string, body: Buffer, write: DerivativeWrite): Promise<void>;
  /** Deletes one derivative; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** The distinct first path segments present (the transform segments), for purging every derivative of a source. */
  listSegments(): AsyncIterable<string>;
  /** Every key under a prefix, streamed (the background re-encode finds its pending work this way after a restart). */
  listKeys(prefix: string): AsyncIterable<string>;
  /**
   * Removes what a crashed writer left behind (temp files older than `olderThanMs`); returns how many. Optional:
   * stores whose writes are atomic by themselves (S3) have nothing to sweep.
   */
  sweep?(olderThanMs: number): Promise<number>;
}
