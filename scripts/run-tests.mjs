// Runs every test/**/*.test.ts with node's test runner (Node 20's --test takes no globs).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

// Suites that measure time against the machine run alone, after the others. The soak loads the machine for most of
// a minute (it would slow everything else); the admission suite checks queue deadlines and Retry-After estimates,
// which other suites' CPU load stretches after the estimate is made (measured: 16-18 of 79 requests then expired in
// the queue instead of at most half the served ones, only when run beside other suites).
const ALONE = /(soak|e2e\/admission)\.test\.ts$/;

/** Runs one batch, passing its output through, and returns its exit code and its summary's counts. */
function run(files, concurrency) {
  if (files.length === 0) return Promise.resolve({ code: 0, pass: 0, fail: 0 });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (c) => {
      process.stdout.write(c);
      tail = (tail + c).slice(-4000);
    });
    child.on('exit', (code) => {
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tail)?.[1] ?? 0);
      resolve({ code: code ?? 1, pass: count('pass'), fail: count('fail') });
    });
  });
}

const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
const first = await run(files.filter((f) => !ALONE.test(f)), 2);
const alone = await run(files.filter((f) => ALONE.test(f)), 1);
// Both batches in one closing line.
console.log(`\n${first.pass + alone.pass} passed, ${first.fail + alone.fail} failed`);
process.exit(first.code || alone.code);
