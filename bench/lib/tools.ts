import { execFileSync, spawnSync } from 'node:child_process';

export function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Debian package for each command the bench can use. */
const PACKAGES: Record<string, string> = { nginx: 'nginx', gm: 'graphicsmagick', wrk: 'wrk' };

/**
 * Makes sure nginx, gm and wrk are there: apt-get install of the missing ones when we are root with apt
 * (one `apt-get update` first), unless BENCH_NO_APT is set. Returns a note per command still missing.
 */
export function ensureTools(log: (s: string) => void): Record<string, string> {
  const missing = Object.keys(PACKAGES).filter((c) => !which(c));
  const notes: Record<string, string> = {};
  if (!missing.length) return notes;
  const canApt = process.getuid?.() === 0 && which('apt-get') && !process.env.BENCH_NO_APT;
  if (canApt) {
    const pkgs = missing.map((c) => PACKAGES[c] as string);
    log(`installing ${pkgs.join(', ')} with apt-get (set BENCH_NO_APT=1 to skip)`);
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], {
        stdio: 'ignore', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    } catch (err) {
      log(`apt-get failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  for (const c of missing) {
    if (!which(c)) notes[c] = canApt ? `${c} missing and apt-get could not install ${PACKAGES[c]}` : `${c} missing (not root or no apt-get; install ${PACKAGES[c]})`;
  }
  return notes;
}

export function versionOf(cmd: string, args: string[], re: RegExp): string {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
    const m = re.exec(`${r.stdout}\n${r.stderr}`);
    return m?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
