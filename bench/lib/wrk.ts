import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellResult } from './stats.js';

/**
 * wrk (C, one thread) for the hit-path cells, where a Node load generator would be the bottleneck: autocannon
 * tops out near the server's own rate on this machine. Its CPU time is read from its parent shell's
 * cutime/cstime once it has exited.
 *
 * wrk itself only tells statuses ≥ 400 apart, so the script counts every status in `response()` (per thread,
 * collected in `done()`): a 200 on the revalidation cell is not a success there.
 */
const SCRIPT = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
done = function(summary, latency, requests)
  local parts = {}
  local all = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
  end
  for k, v in pairs(all) do table.insert(parts, string.format('"%d":%d', k, v)) end
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"statuses":{%s}}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ",")))
end
`;

export async function runWrk(dir: string, url: string, connections: number, durationS: number, headers: Record<string, string>, okStatuses: number[]): Promise<CellResult> {
  const script = join(dir, 'report.lua');
  writeFileSync(script, SCRIPT);
  const args = ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(durationS))}s`, '--timeout', '10s', '-s', script];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  // The shell waits for wrk, then prints its own /proc stat: fields 16/17 are the children's CPU ticks.
  const sh = 'wrk "$@"; read -r s < /proc/$$/stat; echo "SHSTAT $s"';
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('sh', ['-c', sh, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (b: Buffer) => { text += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { text += b.toString(); });
    p.on('error', reject);
    p.on('exit', () => resolve(text));
  });
  const m = /WRKJSON (\{.*\})/.exec(out);
  if (!m?.[1]) throw new Error(`wrk gave no result:\n${out.slice(-2000)}`);
  const r = JSON.parse(m[1]) as { requests: number; duration_us: number; errors: number; p50_us: number; p99_us: number; statuses: Record<string, number> };
  const stat = /SHSTAT (.*)/.exec(out)?.[1] ?? '';
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const childTicks = Number(fields[13]) + Number(fields[14]);
  const secs = r.duration_us / 1e6;
  let ok = 0;
  let other = 0;
  for (const [status, n] of Object.entries(r.statuses)) {
    if (okStatuses.includes(Number(status))) ok += n;
    else other += n;
  }
  if (ok + other !== r.requests) throw new Error(`wrk counted ${r.requests} responses but the script saw ${ok + other}`);
  return {
    okPerSec: ok / secs,
    otherPerSec: other / secs,
    ok,
    other,
    errors: r.errors,
    statuses: r.statuses,
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    durationS: secs,
    loadGenCpu: Number.isFinite(childTicks) ? childTicks / 100 / secs : undefined,
    tool: 'wrk',
  };
}
