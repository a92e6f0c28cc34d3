import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BIN = new URL('../../bin/resizer.js', import.meta.url).pathname;
/** The installed command: a shell launcher that sets glibc's malloc settings and execs bin/resizer.js. */
export const LAUNCHER = new URL('../../bin/resizer', import.meta.url).pathname;

export interface ServerProcess {
  url: string;
  /** The pid of the process that serves (after the bin's one re-exec). */
  pid: number;
  child: ChildProcess;
  /** Everything the server has logged on stdout so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Starts the built `resizer serve` as a real process and waits for its "listening" log line. */
export async function startServerProcess(
  args: string[], env: NodeJS.ProcessEnv = {}, command: readonly string[] = [process.execPath, BIN],
): Promise<ServerProcess> {
  const [exe, ...pre] = command as [string, ...string[]];
  const child = spawn(exe, [...pre, 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c; });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr += c; });
  const { url, pid } = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 15_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c;
      const m = /"pid":(\d+).*listening on (http:\/\/[^"]+)"/.exec(buf);
      if (m) { clearTimeout(timer); resolve({ pid: Number(m[1]), url: m[2]! }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  return {
    url,
    pid,
    child,
    log: () => stdout,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Peak resident memory (VmHWM) of a live process, in MiB. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/** Resident memory (VmRSS) of a live process now, in MiB. */
export function rssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

function statusMiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c; });
    child.stderr.on('data', (c: Buffer) => { stderr += c; });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A TCP port free right now on 127.0.0.1 (for settings where 0 means something else, like --metrics-port). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}
