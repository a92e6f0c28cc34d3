import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every child the bench starts, so that none outlives it whatever happens. */
const children = new Set<ChildProcess>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid) {
      try { process.kill(c.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => { killAll(); process.exit(130); });
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Last lines of stderr/stdout, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (!proc.pid) throw new Error(`could not start ${cmd}`);
  children.add(proc);
  let tail = '';
  const keep = (b: Buffer) => { tail = (tail + b.toString()).slice(-4000); };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { children.delete(proc); resolve(); }));
  return {
    proc,
    pid: proc.pid,
    output: () => tail,
    async stop() {
      // Processes the child forked (gm convert, nginx workers, a re-exec'd node) must not outlive it.
      const tree = proc.pid ? processTree(proc.pid).slice(1) : [];
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
        if (!done) {
          proc.kill('SIGKILL');
          await exited;
        }
      }
      for (const pid of tree) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
}

/** One GET on loopback, fresh connection, no keep-alive. */
export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 60_000): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { connection: 'close', ...headers }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls until the server answers anything at all (any status), every `everyMs`. */
export async function waitForHttp(url: string, child: Child | null, timeoutMs = 20_000, everyMs = 20): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await get(url, {}, 2000);
      return;
    } catch {
      if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
        throw new Error(`server exited (${child.proc.exitCode ?? child.proc.signalCode}):\n${child.output()}`);
      }
      if (performance.now() > deadline) throw new Error(`no answer from ${url} within ${timeoutMs} ms\n${child?.output() ?? ''}`);
      await sleep(everyMs);
    }
  }
}

/** The process and everything it forked (read from /proc/<pid>/task/<tid>/children). */
export function processTree(root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  while (todo.length && out.length < 1000) {
    const pid = todo.pop() as number;
    out.push(pid);
    let tasks: string[];
    try { tasks = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tasks) {
      try {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) for (const k of kids.split(/\s+/)) todo.push(Number(k));
      } catch { /* thread gone */ }
    }
  }
  return out;
}

function statusField(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export const rssBytes = (pid: number): number => statusField(pid, 'VmRSS');

/** CPU time (user+system, ms) a process has used so far, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}
const CLK_TCK = 100;

const RSS_SAMPLE_MS = 25;

/**
 * Peak resident memory of a process tree while it runs: the sum of VmRSS over the tree, sampled every
 * 25 ms, plus each process's own VmHWM (the kernel's exact peak, reset at start through clear_refs)
 * so that a spike between two samples is not missed for a single long-lived process.
 */
export class RssSampler {
  private peak = 0;
  /** Largest single process of the tree (our server without its launcher, nginx's biggest worker). */
  largest = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The tree at start(), whose VmHWM were reset. */
  private startPids: number[] = [];

  constructor(private readonly root: number) {}

  start(): void {
    this.startPids = processTree(this.root);
    for (const pid of this.startPids) {
      try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { /* not permitted: sampling only */ }
    }
    this.peak = 0;
    this.largest = 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }

  private sample(): void {
    let sum = 0;
    for (const pid of processTree(this.root)) {
      const r = rssBytes(pid);
      sum += r;
      if (r > this.largest) this.largest = r;
    }
    if (sum > this.peak) this.peak = sum;
  }

  /** Peak bytes since start(). */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    // For the long-lived processes, the exact peaks: sum of per-process high-water marks is an upper bound
    // of the simultaneous peak; use it only when the tree is the one recorded at start() (no short-lived
    // children, and every VmHWM was reset then).
    const now = processTree(this.root);
    const before = new Set(this.startPids);
    if (now.length === before.size && now.every((pid) => before.has(pid))) {
      let hwm = 0;
      for (const pid of now) hwm += statusField(pid, 'VmHWM');
      if (hwm > this.peak) this.peak = hwm;
    }
    return this.peak;
  }
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
