import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TransformTimeout, Unprocessable } from '../errors/index.js';
import { REFUSED_EXIT_CODE, type SvgTarget } from './svg-density.js';

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

let privateHome: string | undefined;

/**
 * The children's own HOME, caches and temp folder, one per server process, removed when it exits. librsvg
 * draws text through fontconfig, which otherwise writes its font cache to /var/cache/fontconfig or ~/.cache:
 * writes outside the cache directory, shared with every other program on the host. The fonts.conf here reads
 * the system's fonts and rules but names only the private cache folder, so that is the one place it writes.
 */
export function svgChildHome(): string {
  if (privateHome) return privateHome;
  const home = mkdtempSync(join(tmpdir(), 'resizer-svg-'));
  for (const dir of ['cache/fontconfig', 'config', 'tmp']) mkdirSync(join(home, dir), { recursive: true });
  writeFileSync(join(home, 'fonts.conf'), `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts</dir>
  <dir>/usr/local/share/fonts</dir>
  <cachedir>${join(home, 'cache/fontconfig')}</cachedir>
  <include ignore_missing="yes">/etc/fonts/conf.d</include>
</fontconfig>
`);
  process.once('exit', () => rmSync(home, { recursive: true, force: true }));
  privateHome = home;
  return home;
}

/** Only what node and libvips need, pointing every home-relative path into the private folder. */
function childEnv(home: string): NodeJS.ProcessEnv {
  const keep = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'MALLOC_ARENA_MAX', 'VIPS_CONCURRENCY', 'NODE_OPTIONS'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    ...env,
    HOME: home,
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'config'),
    TMPDIR: join(home, 'tmp'),
    FONTCONFIG_FILE: join(home, 'fonts.conf'),
    FONTCONFIG_PATH: home,
  };
}

/** How the child is started: its program, arguments, folder and environment (exported for the tests that trace it). */
export function svgChildCommand(target: SvgTarget | number, maxPixels: number): { command: string; args: string[]; options: { cwd: string; env: NodeJS.ProcessEnv } } {
  const home = svgChildHome();
  const targetArg = typeof target === 'number' ? String(target) : JSON.stringify(target);
  return { command: process.execPath, args: [...LOADER, WORKER, targetArg, String(maxPixels)], options: { cwd: home, env: childEnv(home) } };
}

/**
 * Reads and rasterises an SVG in a child process killed at the time budget: the only hard bound on librsvg,
 * which checks no timeout while it draws. On Linux the child is also killed when its resident memory passes
 * `maxRssBytes`. `target` is the box the image is for (the child reads the SVG's size and picks the density),
 * or a fixed density. Costs a process start (~0.1 s) per SVG miss; derivatives are cached.
 */
export function rasteriseSvg(
  svg: Buffer, target: SvgTarget | number, maxPixels: number, timeoutSeconds: number, maxRssBytes = DEFAULT_SVG_MAX_RSS,
): Promise<Raster> {
  return new Promise((resolve, reject) => {
    const { command, args, options } = svgChildCommand(target, maxPixels);
    const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
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
      if (timedOut) return reject(new TransformTimeout('Image took too long to process'));
      if (tooBig) return reject(new Unprocessable(`SVG needs more than ${Math.round(maxRssBytes / 2 ** 20)} MiB to render`));
      if (code === REFUSED_EXIT_CODE) return reject(new Unprocessable(Buffer.concat(err).toString()));
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
