import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from '../../src/storage/s3-client.js';

/**
 * A real S3-protocol server in its own process on 127.0.0.1 (random port, temp directory).
 *
 * - `s3rver` (3.7.1, the default): buckets, objects, ListObjectsV2 with delimiters; accepts any signature.
 * - `sigv4` (@20minutes/s3rver 4.0.4): checks SigV4 signatures on object calls, but fails signed bucket calls
 *   (ListObjectsV2, CreateBucket), so buckets are made by its startup config and listing is not used with it.
 * Known differences from S3 in both: PUT writes the file in place (not atomic: a reader can catch it half
 * written), If-Match and suffix ranges are ignored; and a delimiter listing skips prefixes holding only nested
 * keys (patched below, in the emulator's process).
 */
export type S3Flavour = 's3rver' | 'sigv4';

export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const S3_REGION = 'us-east-1';

export interface S3TestServer {
  endpoint: string;
  port: number;
  /** A client for this server (or for `via`, a proxy in front of it) with the emulator's credentials unless told. */
  client(settings?: Partial<S3Settings>, options?: { credentials?: typeof S3_CREDENTIALS; via?: string }): S3Client;
  /** Environment that points the SDK's default chain at this server (for child processes and the CLI). */
  env: Record<string, string>;
  /** SIGKILLs the emulator (its objects stay on disk): S3 unreachable. */
  kill(): Promise<void>;
  /** Starts it again on the same port over the same objects. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const TEST_S3_SETTINGS: S3Settings = { forcePathStyle: true, timeoutMs: 3000, maxAttempts: 2 };

const CHILD = `
// Emulator bug: its ListObjectsV2 continuation tokens are DES-encrypted, a cipher OpenSSL 3 no longer offers, so
// every truncated listing failed with a 500. Triple DES with three equal keys is single DES, bit for bit.
const crypto = require('crypto');
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const original = crypto[name];
  crypto[name] = (algorithm, key, ...rest) => algorithm === 'des'
    ? original('des-ede3-cbc', Buffer.concat([key, key, key]), ...rest)
    : original(algorithm, key, ...rest);
}
const S3rver = require(process.env.S3RVER_MODULE);
// Emulator bug: with a delimiter, its walk prunes directories beneath a common prefix, so a prefix that holds
// only nested keys (a segment holding only '400x300/2024/cat.jpg') is never reported. S3 reports it: group the
// full listing the way S3 does (no pagination of common prefixes; the tests stay far below 1000 keys).
const Store = require(process.env.S3RVER_MODULE + '/lib/stores/filesystem');
const listObjects = Store.prototype.listObjects;
Store.prototype.listObjects = async function (bucket, options) {
  const delimiter = options.delimiter;
  if (!delimiter) {
    // Emulator bug: it lists in its folders' order and resumes a continuation by that order, losing keys ("a-b"
    // after "a/y"). S3 lists in UTF-8 byte order: sort the whole listing and page it that way.
    const after = Buffer.from(options.startAfter || '');
    const whole = await listObjects.call(this, bucket, { ...options, startAfter: '', maxKeys: Infinity });
    const byKey = (a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
    const sorted = whole.objects.filter((o) => Buffer.compare(Buffer.from(o.key), after) > 0).sort(byKey);
    const max = options.maxKeys ?? Infinity;
    return { objects: sorted.slice(0, max), commonPrefixes: [], isTruncated: sorted.length > max };
  }
  const prefix = options.prefix || '';
  const all = await listObjects.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity });
  const commonPrefixes = new Set();
  const objects = all.objects.filter((o) => {
    const idx = o.key.slice(prefix.length).indexOf(delimiter);
    if (idx === -1) return true;
    commonPrefixes.add(o.key.slice(0, prefix.length + idx + 1));
    return false;
  });
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated: false };
};
const server = new S3rver({
  address: '127.0.0.1', port: Number(process.env.S3RVER_PORT || 0), silent: true, directory: process.env.S3RVER_DIR,
  configureBuckets: JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name, configs: [] })),
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (err) => { console.error(err); process.exit(1); },
);
// The parent holds our stdin: when it goes away for any reason, so do we.
process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
`;

export async function startS3Server(buckets: string[], flavour: S3Flavour = 's3rver'): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'resizer-s3-'));
  const launch = async (port: number) => {
    const proc = spawn(process.execPath, ['-e', CHILD], {
      cwd: new URL('../../', import.meta.url).pathname,
      env: {
        ...process.env,
        S3RVER_MODULE: flavour === 's3rver' ? 's3rver' : '@20minutes/s3rver',
        S3RVER_DIR: directory,
        S3RVER_BUCKETS: JSON.stringify(buckets),
        S3RVER_PORT: String(port),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    return { proc, port: await readyPort(proc, () => stderr) };
  };
  let { proc: child, port } = await launch(0);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    }
  };
  return {
    endpoint,
    port,
    client: (settings = {}, options = {}) => createS3Client(
      { ...TEST_S3_SETTINGS, ...settings },
      { endpoint: options.via ?? endpoint, region: S3_REGION, credentials: options.credentials ?? S3_CREDENTIALS },
    ),
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: S3_REGION,
      AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
    },
    kill: () => stop('SIGKILL'),
    async restart() {
      await stop('SIGKILL');
      ({ proc: child, port } = await launch(port));
    },
    async close() {
      await stop('SIGTERM');
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function readyPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`S3 emulator not ready in 15 s: ${stderr()}`)); }, 15_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`S3 emulator exited (${code}): ${stderr()}`)); });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
}
