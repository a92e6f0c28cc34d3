/**
 * The miss path's stages in one process, without HTTP: the bare loop's transform against the server's render of the
 * same derivative, and the steps around it (source read, header pass, ETag). Alternates them, one at a time, and
 * prints medians in ms. Run: node --import tsx bench/miss-stages.ts [workload id] [rounds]
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DEFAULTS } from '../src/config/index.js';
import { inspect, render } from '../src/pipeline/index.js';
import { configureSharp } from '../src/pipeline/sharp-setup.js';
import { contentEtag } from '../src/storage/content-hash.js';
import { pino } from 'pino';
import { buildApp, pipelineLimits } from '../src/runtime.js';
import { parseSegment } from '../src/url/segment.js';
import { transform } from './lib/encoders.js';
import { SOURCES, WORKLOADS } from './workloads.js';

configureSharp({ transforms: 2, cores: 2 });
const w = WORKLOADS.find((x) => x.id === (process.argv[2] ?? 'jpeg500'))!;
const rounds = Number(process.argv[3] ?? 20);
const path = SOURCES[w.source as keyof typeof SOURCES];
const buf = readFileSync(path);
const limits = pipelineLimits(DEFAULTS);
const spec = parseSegment(w.ours.split('/')[1] ?? '', DEFAULTS);
const header = await inspect(buf, limits);
// The whole miss path without sockets: the app as the server builds it (`--cache none --memory-cache-mb 0`, as the
// bench runs it), over the bench's hard links of the source (b0/…, b1/…), so each request is a real miss.
const srcDir = process.env.MISS_STAGES_SOURCES ?? '/tmp/bytes-src';
const app = await buildApp({ ...DEFAULTS, source: srcDir, cache: 'none', memoryCacheMb: 0, logLevel: 'silent' }, pino({ level: 'silent' }));
let n = 0;
const appMiss = async () => {
  const res = await app.handle({ method: 'GET', url: w.ours.replace(`/${w.source}`, `/b${n++ % 300}/${w.source}`), headers: {} });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
};
const stages: Record<string, () => Promise<unknown>> = {
  app: appMiss,
  bare: () => transform(buf, w.transform),
  render: () => render(buf, spec, limits, header),
  read: () => readFile(path),
  inspect: () => inspect(buf, limits),
  etag: async () => contentEtag((await render(buf, spec, limits, header)).body),
};
const times: Record<string, number[]> = {};
for (let i = 0; i < rounds + 2; i++) {
  for (const [name, f] of Object.entries(stages)) {
    const t = performance.now();
    await f();
    if (i >= 2) (times[name] ??= []).push(performance.now() - t);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;
for (const [name, a] of Object.entries(times)) console.log(`${w.id} ${name.padEnd(8)} median ${med(a).toFixed(2)} ms  min ${Math.min(...a).toFixed(2)} ms`);
const b = (await transform(buf, w.transform)).data;
const r = (await render(buf, spec, limits, header)).body;
console.log(`bytes bare ${b.length} server ${r.length} identical ${b.equals(r)}`);
