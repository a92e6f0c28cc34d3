import type { CellResult } from './lib/stats.js';
import { WORKLOADS } from './workloads.js';

export interface Row extends CellResult {
  workload: string;
  contender: string;
  c: number;
}

export interface Report {
  env: Record<string, unknown> & { date: string; cpus: number; cpuModel: string; node: string; sharp: string; vips: string };
  notes: string[];
  rows: Row[];
  outputs: { workload: string; contender: string; bytes: number; width: number; height: number; format: string; ms: number; cache: string }[];
  unavailable: { workload: string; contender: string; why: string }[];
  coldStart?: { path: string; runs: number; missMedian: number; missMin: number; hitMedian: number; hitMin: number; nodeMedian: number };
  avif?: { requestAvif: number; requestWebp: number; encodeAvif: number; encodeWebp: number; encoders?: string } | { error: string };
  /** A browser's first visit: distinct cold thumbnails, each once, over a few connections. */
  page?: { images: number; connections: number; statuses: Record<string, number>; lastMs: number; peakRss: number };
  /** The server's queue deadline during the run (the overload target). */
  deadlineMs?: number;
  /** nginx front and nginx static hit cells alternating, ok/s per round, by concurrency (bench/run.ts, frontStaticPairs). */
  frontPairs?: { c: number; front: number[]; static: number[]; cpuUsPerHit?: { front: number; static: number } }[];
}

const MB = 2 ** 20;
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
export const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const rate = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : `${n.toFixed(2)}×`);
const CONTENDER_NAMES: Record<string, string> = {
  ours: 'resizer (ours)', 'ours-w2': 'resizer --workers 2', bare: 'bare sharp loop (limit)', ipx: 'ipx over HTTP', gm: 'GraphicsMagick over HTTP', nginx: 'nginx static file', 'nginx-front': 'nginx front (deploy/nginx, resizer on a miss)',
};

function table(head: string[], body: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface Target { name: string; status: 'met' | 'missed' | 'n/a'; detail: string }

function targets(r: Report): Target[] {
  const out: Target[] = [];
  const row = (w: string, c: string, n: number) => r.rows.find((x) => x.workload === w && x.contender === c && x.c === n);
  const missIds = WORKLOADS.filter((w) => w.kind === 'miss').map((w) => w.id);
  const cs = [...new Set(r.rows.map((x) => x.c))].sort((a, b) => a - b);
  const vs = (peer: string, min: number, label: string, ids = missIds, mineName = 'ours') => {
    const parts: string[] = [];
    let ok = true;
    let any = false;
    for (const w of ids) {
      for (const c of cs) {
        const a = row(w, mineName, c);
        const b = row(w, peer, c);
        if (!a || !b || !b.okPerSec) continue;
        any = true;
        const q = a.okPerSec / b.okPerSec;
        if (q < min) { ok = false; parts.push(`${w} c=${c}: ${q.toFixed(2)}×`); }
      }
    }
    out.push({ name: label, status: any ? (ok ? 'met' : 'missed') : 'n/a', detail: any ? (ok ? 'every cell' : `short: ${parts.join('; ')}`) : 'not measured' });
  };
  vs('bare', 0.95, 'miss path ≥ 0.95× bare sharp at every concurrency');
  vs('ipx', 1.0, 'miss path ≥ 1.0× ipx throughput');
  {
    const worse: string[] = [];
    let any = false;
    for (const w of missIds) for (const c of cs) {
      const a = row(w, 'ours', c); const b = row(w, 'ipx', c);
      if (!a || !b) continue;
      any = true;
      if (a.p99 >= b.p99) worse.push(`${w} c=${c}: p99 ${f1(a.p99)} vs ${f1(b.p99)} ms`);
      if ((a.peakRss ?? 0) >= (b.peakRss ?? Infinity)) worse.push(`${w} c=${c}: RSS ${f1((a.peakRss ?? 0) / MB)} vs ${f1((b.peakRss ?? 0) / MB)} MB`);
    }
    out.push({ name: 'lower p99 and lower RSS than ipx', status: any ? (worse.length ? 'missed' : 'met') : 'n/a', detail: worse.length ? worse.join('; ') : any ? 'every cell' : 'not measured' });
  }
  vs('gm', 5, 'miss path ≥ 5× GraphicsMagick');
  {
    // Admission: a burst of misses is queued and served, not refused, and throughput holds up under it.
    const parts: string[] = [];
    let ok = true;
    let any = false;
    for (const w of missIds) {
      const two = row(w, 'ours', 2);
      for (const c of [8, 32]) {
        const hi = row(w, 'ours', c);
        if (!two || !hi) continue;
        any = true;
        const q = hi.okPerSec / two.okPerSec;
        if (hi.other > 0 || q < 0.95) { ok = false; parts.push(`${w} c=${c}: ${hi.other} refused, ${q.toFixed(2)}× c=2`); }
      }
    }
    out.push({ name: 'c = 8 and 32 on every miss workload: zero refusals, throughput ≥ 0.95× c = 2', status: any ? (ok ? 'met' : 'missed') : 'n/a', detail: any ? (ok ? 'every cell' : parts.join('; ')) : 'not measured' });
  }
  {
    const parts: string[] = [];
    let ok = true;
    let any = false;
    for (const c of [8, 32]) {
      const hi = row('progressive', 'ours', c);
      if (!hi?.peakRss) continue;
      any = true;
      if (hi.peakRss > 300 * MB) ok = false;
      parts.push(`c=${c}: ${f1(hi.peakRss / MB)} MB`);
    }
    out.push({ name: 'peak RSS ≤ 300 MB on the progressive JPEG at c = 8 and 32', status: any ? (ok ? 'met' : 'missed') : 'n/a', detail: parts.join('; ') || 'not measured' });
  }
  {
    const top = 256;
    const deadline = r.deadlineMs ?? 10_000;
    const parts: string[] = [];
    let ok = true;
    let any = false;
    for (const w of missIds) {
      const hi = row(w, 'ours', top);
      if (!hi) continue;
      any = true;
      if (!(hi.p99 <= deadline) || (hi.other > 0 && !((hi.otherP99 ?? Infinity) < 100))) ok = false;
      parts.push(`${w}: served p99 ${f1(hi.p99)} ms, refused ${rate(hi.otherPerSec)}/s at p99 ${f1(hi.otherP99)} ms`);
    }
    out.push({ name: `c = ${top}: served p99 ≤ the deadline (${deadline / 1000} s), refusals answered in < 100 ms`, status: any ? (ok ? 'met' : 'missed') : 'n/a', detail: parts.join('; ') || 'not measured' });
  }
  if (r.page) {
    const p = r.page;
    const served = p.statuses['200'] ?? 0;
    out.push({ name: `a page: ${p.images} distinct cold thumbnails at ${p.connections} connections, all 200`, status: served === p.images ? 'met' : 'missed', detail: `statuses ${JSON.stringify(p.statuses)}; last image after ${f1(p.lastMs)} ms; peak RSS ${f1(p.peakRss / MB)} MB` });
  }
  vs('nginx', 0.5, 'hit path ≥ 0.5× nginx static (one process, the default)', ['hit', 'revalidate']);
  vs('nginx', 0.5, 'hit path ≥ 0.5× nginx static with --workers 2', ['hit', 'revalidate'], 'ours-w2');
  if (r.frontPairs?.length) {
    // Alternating cells: the ratio of the sums, with the spread of the rounds.
    const parts = r.frontPairs.map((p) => {
      const q = sum(p.front) / sum(p.static);
      const each = p.front.map((f, i) => f / (p.static[i] ?? NaN)).sort((x, y) => x - y);
      const cpu = p.cpuUsPerHit ? `; nginx CPU per hit ${f1(p.cpuUsPerHit.front)} against ${f1(p.cpuUsPerHit.static)} µs` : '';
      return { q, text: `c=${p.c}: ${ratio(q)} (${p.front.length} alternating rounds, ${ratio(each[0])}–${ratio(each[each.length - 1])}${cpu})` };
    });
    out.push({ name: 'nginx front hit ≥ 0.9× nginx static', status: parts.every((p) => p.q >= 0.9) ? 'met' : 'missed', detail: parts.map((p) => p.text).join('; ') });
  } else {
    vs('nginx', 0.9, 'nginx front hit ≥ 0.9× nginx static', ['hit'], 'nginx-front');
  }
  {
    const top = Math.max(...cs);
    const over: string[] = [];
    let worst = 0;
    let any = false;
    for (const w of WORKLOADS.map((x) => x.id)) {
      const hi = row(w, 'ours', top);
      if (!hi?.peakRss) continue;
      any = true;
      worst = Math.max(worst, hi.peakRss);
      if (hi.peakRss > 300 * MB) over.push(`${w}: ${f1(hi.peakRss / MB)} MB`);
    }
    out.push({ name: `peak RSS ≤ 300 MB at c=${top} on every workload`, status: any ? (over.length ? 'missed' : 'met') : 'n/a', detail: over.length ? over.join('; ') : `worst ${f1(worst / MB)} MB` });
  }
  if (r.avif && 'requestAvif' in r.avif) {
    const q = r.avif.requestAvif / r.avif.requestWebp;
    out.push({ name: 'AVIF default effort ≤ 3× WebP latency, same size', status: q <= 3 ? 'met' : 'missed', detail: `request ${f1(r.avif.requestAvif)} vs ${f1(r.avif.requestWebp)} ms = ${q.toFixed(2)}×; encode alone ${f1(r.avif.encodeAvif)} vs ${f1(r.avif.encodeWebp)} ms = ${(r.avif.encodeAvif / r.avif.encodeWebp).toFixed(2)}×` });
  } else {
    out.push({ name: 'AVIF default effort ≤ 3× WebP latency, same size', status: 'n/a', detail: r.avif && 'error' in r.avif ? r.avif.error : 'not measured' });
  }
  if (r.coldStart) {
    const cs0 = r.coldStart;
    out.push({ name: 'cold start to first response ≤ 300 ms', status: cs0.missMedian <= 300 && cs0.hitMedian <= 300 ? 'met' : 'missed', detail: `first resize ${f1(cs0.missMedian)} ms, first hit ${f1(cs0.hitMedian)} ms (medians of ${cs0.runs}; node -e 0 alone ${f1(cs0.nodeMedian)} ms)` });
  }
  return out;
}

function beforeAfter(r: Report, before: Report, label: string): string[] {
  const md: string[] = [];
  md.push(`## Before and after (ours; before = run \`${label}\` of ${before.env.date.slice(0, 16).replace('T', ' ')} UTC)`);
  md.push('');
  const body: string[][] = [];
  for (const w of WORKLOADS) {
    for (const a of r.rows.filter((x) => x.workload === w.id && x.contender === 'ours').sort((x, y) => x.c - y.c)) {
      const b = before.rows.find((x) => x.workload === w.id && x.contender === 'ours' && x.c === a.c);
      if (!b) continue;
      body.push([w.id, String(a.c), `${rate(b.okPerSec)} → ${rate(a.okPerSec)}`, `${f1(b.p99)} → ${f1(a.p99)}`,
        `${rate(b.otherPerSec)} → ${rate(a.otherPerSec)}`, `${f1((b.peakRss ?? 0) / MB)} → ${f1((a.peakRss ?? 0) / MB)}`]);
    }
  }
  md.push(table(['workload', 'c', 'ok/s', 'p99 ms', 'refused/s', 'RSS MB'], body));
  md.push('');
  if (before.coldStart && r.coldStart) {
    md.push(`Cold start, first resize: ${f1(before.coldStart.missMedian)} → ${f1(r.coldStart.missMedian)} ms; first hit: ${f1(before.coldStart.hitMedian)} → ${f1(r.coldStart.hitMedian)} ms.`);
    md.push('');
  }
  return md;
}

export function renderReport(r: Report, before?: { report: Report; label: string }): { console: string; markdown: string } {
  const md: string[] = [];
  const e = r.env;
  md.push('# Benchmarks');
  md.push('');
  md.push(`Written by \`npm run bench\` (bench/run.ts) on ${e.date.slice(0, 16).replace('T', ' ')} UTC in ${String(e.runSeconds)} s.`);
  md.push('');
  md.push(`- Machine: ${e.cpus} × ${e.cpuModel}; load average ${String(e.loadAvgAtStart)} at start, ${String(e.loadAvgAtEnd)} at end.`);
  md.push(`- Node ${e.node}, sharp ${e.sharp}, libvips ${e.vips}; ipx ${String(e.ipx)} (with its own sharp ${String(e.ipxSharp)}), GraphicsMagick ${String(e.gm)}, nginx ${String(e.nginx)}.`);
  md.push(`- Load: autocannon ${String(e.autocannon)} in its own process for transform cells; wrk ${String(e.wrk)} (one thread) for the hit and 304 cells${e.hasWrk ? '' : ' (wrk missing: autocannon used)'}. ${String(e.durationS)} s per cell, keep-alive, one request in flight per connection, 127.0.0.1 only.`);
  if (e.encoders) md.push(`- Encoder settings of the bare loop and of the encode-alone AVIF/WebP comparison: ${String(e.encoders)} (the server's own).`);
  if (e.oursArgs) md.push(`- Our server ran with extra flags: \`${String(e.oursArgs)}\`.`);
  for (const n of r.notes) md.push(`- ${n}`);
  md.push('');
  md.push('**ok/s** counts successful responses (200; 304 on the revalidation rows); **refused/s** counts the rest (503 under overload). ' +
    'p50/p99 are latencies of the successful responses. **RSS** is the peak resident memory of the contender\'s whole process tree during the cell (in brackets, where the tree has several processes: its largest one, e.g. the GraphicsMagick server without its `gm` children, or one `--workers` process). ' +
    '**ours ÷ it** is our ok/s divided by that contender\'s ok/s at the same concurrency (>1: we are faster). **gen CPU** is the load generator\'s CPU time as a share of one core.');
  md.push('');

  md.push('## Targets');
  md.push('');
  md.push(table(['target', 'status', 'numbers'], targets(r).map((t) => [t.name, t.status === 'met' ? '**met**' : t.status === 'missed' ? '**missed**' : 'n/a', t.detail])));
  md.push('');

  const text: string[] = [];
  for (const w of WORKLOADS) {
    const rows = r.rows.filter((x) => x.workload === w.id);
    const gone = r.unavailable.filter((x) => x.workload === w.id);
    if (!rows.length && !gone.length) continue;
    md.push(`## ${w.title}`);
    md.push('');
    md.push(`Ours: \`GET ${w.ours}\`${w.kind === 'revalidate' ? ' with `If-None-Match`' : ''}${w.ipx ? `; ipx: \`${w.ipx}\`` : ''}${w.gm ? `; gm: \`${w.gm}\`` : ''}.`);
    const outs = r.outputs.filter((o) => o.workload === w.id && o.width > 0);
    if (outs.length) md.push(`Outputs: ${outs.map((o) => `${o.contender} ${o.width}×${o.height} ${o.format} ${(o.bytes / 1024).toFixed(1)} KiB`).join('; ')}.`);
    for (const g of gone) md.push(`- ${g.contender}: not measured — ${g.why}`);
    md.push('');
    const body: string[][] = [];
    for (const contender of ['ours', 'ours-w2', 'bare', 'ipx', 'gm', 'nginx', 'nginx-front']) {
      for (const row of rows.filter((x) => x.contender === contender).sort((a, b) => a.c - b.c)) {
        const mine = rows.find((x) => x.contender === 'ours' && x.c === row.c);
        const w2 = (c: number) => rows.find((x) => x.contender === 'ours-w2' && x.c === c);
        body.push([
          CONTENDER_NAMES[contender] ?? contender, String(row.c), rate(row.okPerSec), f1(row.p50), f1(row.p99),
          row.otherPerSec ? `${rate(row.otherPerSec)} (p99 ${f1(row.otherP99)} ms)` : '0',
          row.peakRss ? f1(row.peakRss / MB) + (row.peakRssLargest && row.peakRssLargest < row.peakRss * 0.95 ? ` (${f1(row.peakRssLargest / MB)})` : '') : '–',
          contender.startsWith('ours') || !mine ? '' : ratio(mine.okPerSec / row.okPerSec) + (w2(row.c) ? ` (w2 ${ratio((w2(row.c) as Row).okPerSec / row.okPerSec)})` : ''),
          row.loadGenCpu !== undefined ? `${(row.loadGenCpu * 100).toFixed(0)} %` : '–',
        ]);
      }
    }
    if (body.length) {
      const t = table(['contender', 'c', 'ok/s', 'p50 ms', 'p99 ms', 'refused/s', 'RSS MB', 'ours ÷ it', 'gen CPU'], body);
      md.push(t);
      text.push(`\n${w.title}\n${t}`);
    }
    md.push('');
  }

  if (r.coldStart) {
    const c = r.coldStart;
    md.push('## Cold start');
    md.push('');
    md.push(`Process start (spawn of \`bin/resizer serve\`, the installed command) to the first complete response of \`GET ${c.path}\`, polling the port every 2 ms; median of ${c.runs} (min in brackets).`);
    md.push('');
    md.push(table(['case', 'x', 'ms'], [
      ['first resized response (cache none)', '', `${f1(c.missMedian)} (${f1(c.missMin)})`],
      ['first cache hit (derivative on disk)', '', `${f1(c.hitMedian)} (${f1(c.hitMin)})`],
      ['`node -e 0`, for reference', '', f1(c.nodeMedian)],
    ]).replace(/\| x \|/, '| |'));
    md.push('');
  }
  if (r.avif && 'requestAvif' in r.avif) {
    md.push('## AVIF against WebP, same size (Kleiber → fit 400 px), one request at a time');
    md.push('');
    md.push(table(['measure', 'x', 'AVIF ms', 'WebP ms', 'ratio'], [
      ['whole request on our server (median)', '', f1(r.avif.requestAvif), f1(r.avif.requestWebp), ratio(r.avif.requestAvif / r.avif.requestWebp)],
      ['encode alone, 400 px pixels in memory', '', f1(r.avif.encodeAvif), f1(r.avif.encodeWebp), ratio(r.avif.encodeAvif / r.avif.encodeWebp)],
    ]).replace(/\| x \|/, '| |'));
    md.push('');
  }
  if (before) md.push(...beforeAfter(r, before.report, before.label));
  const markdown = md.join('\n');
  const summary = targets(r).map((t) => `${t.status.padEnd(7)} ${t.name}: ${t.detail}`).join('\n');
  return { console: `${text.join('\n')}\n\nTargets\n${summary}`, markdown };
}
