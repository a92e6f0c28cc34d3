#!/usr/bin/env node
// glibc gives every thread its own malloc arena; libvips' worker threads then fragment memory until a
// long-running process holds ~1 GB after a few progressive JPEGs. glibc reads MALLOC_ARENA_MAX only at
// process start, so the server re-executes itself once with it set (skipped when the caller set it, as the
// bin/resizer shell launcher does).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const needsArenaCap = args[0] === 'serve' && process.platform === 'linux' && process.env.MALLOC_ARENA_MAX === undefined;

if (needsArenaCap) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
    stdio: 'inherit',
    // A fixed mmap threshold also stops glibc from raising it after the first big free: libjpeg's
    // whole-image coefficient buffers (progressive JPEG, ~30 MB) then stay mmapped and go back to the OS when
    // freed instead of fragmenting the heap. 8 MB keeps source files (a few MB) on the heap, where 1 MB cost
    // ~5% of miss throughput in page faults (docs/benchmarks.md).
    env: { MALLOC_MMAP_THRESHOLD_: '8388608', ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => { process.exitCode = code ?? (signal ? 1 : 0); });
} else {
  const { main } = await import('../dist/cli/main.js');
  main(args).then(
    (code) => { if (typeof code === 'number') process.exitCode = code; },
    (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
  );
}
