import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Unprocessable } from '../errors/index.js';

export interface Raster {
  data: Buffer;
  info: { width: number; height: number; channels: 4 };
}

// Run as TypeScript under tsx (tests, dev) and as JavaScript once built.
const ownExtension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const WORKER = fileURLToPath(new URL(`./svg-worker.${ownExtension}`, import.meta.url));
// Resolved from here, not from the working directory; tsx is a dev dependency, so only looked up under tsx.
const LOADER = ownExtension === 'ts' ? ['--import', import.meta.resolve('tsx')] : [];

/** Resident memory the rasteriser may use: a raster at the default pixel limit is 200 MB, librsvg a few times that. */
export const DEFAULT_SVG_MAX_RSS = 1024 * 1024 * 1024;
const RSS_POLL_MS = 50;

/**
 * Rasterises an SVG in a child process killed at the time budget: the only hard bound on librsvg, which
 * checks no timeout while it draws. On Linux the child is also killed when its resident memory passes
 * `maxRssBytes`. Costs a process start (~0.1 s) per SVG miss; derivatives are cached.
 */
export function rasteriseSvg(
  svg: Buffer, density: number, maxPixels: number, timeoutSeconds: number, maxRssBytes = DEFAULT_SVG_MAX_RSS,
): Promise<Raster> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER, WORKER, String(density), String(maxPixels)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let tooBig = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutSeconds * 1000);
    const watch = setInterval(() => {
      void residentBytes(child.pid).then((rss) => {
        if (rss !== undefined && rss > maxRssBytes && child.exitCode === null) { tooBig = true; child.kill('SIGKILL'); }
      });
    }, RSS_POLL_MS);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => { /* the child died early; its exit says why */ });
    child.on('error', (e) => { clearTimeout(timer); clearInterval(watch); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(watch);
      if (timedOut) return reject(new Unprocessable('Image took too long to process'));
      if (tooBig) return reject(new Unprocessable(`SVG needs more than ${Math.round(maxRssBytes / 2 ** 20)} MiB to render`));
      if (code !== 0) return reject(new Error(Buffer.concat(err).toString() || `SVG rasteriser exited with ${code}`));
      const all = Buffer.concat(out);
      const newline = all.indexOf(10);
      try {
        const info = JSON.parse(all.subarray(0, newline).toString()) as Raster['info'];
        resolve({ data: all.subarray(newline + 1), info });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    child.stdin.end(svg);
  });
}

/** The process's resident set from /proc (Linux); undefined elsewhere or once it has gone. */
async function residentBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
