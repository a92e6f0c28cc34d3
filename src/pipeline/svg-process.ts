import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ServiceUnavailable } from '../errors/index.js';

export interface Raster {
  data: Buffer;
  info: { width: number; height: number; channels: 4 };
}

// Run as TypeScript under tsx (tests, dev) and as JavaScript once built.
const ownExtension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
const WORKER = fileURLToPath(new URL(`./svg-worker.${ownExtension}`, import.meta.url));
const LOADER = ownExtension === 'ts' ? ['--import', 'tsx'] : [];

/**
 * Rasterises an SVG in a child process killed at the time budget: the only hard bound on librsvg, which
 * checks no timeout while it draws. Costs a process start (~0.1 s) per SVG miss; derivatives are cached.
 */
export function rasteriseSvg(svg: Buffer, density: number, maxPixels: number, timeoutSeconds: number): Promise<Raster> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER, WORKER, String(density), String(maxPixels)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutSeconds * 1000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => { /* the child died early; its exit says why */ });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return reject(new ServiceUnavailable('Image took too long to process', 5));
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
