// One transform in a fresh process, measured: the peak resident memory it added (VmHWM after clear_refs, so the
// start-up and the read source are not counted) and its wall time. Run as
// `node --import tsx test/helpers/cost-probe.ts <file> <segment>`; prints one JSON line.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { predictCost } from '../../src/admission/cost.js';
import { describeTransform, inspect, render } from '../../src/pipeline/index.js';
import { configureSharp } from '../../src/pipeline/sharp-setup.js';
import { DEFAULTS } from '../../src/config/index.js';
import { pipelineLimits } from '../../src/runtime.js';
import { parseSegment } from '../../src/url/segment.js';

const [file, segment] = process.argv.slice(2) as [string, string];
const limits = pipelineLimits({ ...DEFAULTS, maxInputPixels: 100_000_000, transformTimeoutSeconds: 60 });

function kb(field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
}

configureSharp({ transforms: 2, cores: 2 });
// Codecs and libvips' types load on first use: warm them on a tiny image so only the transform is measured.
await sharp({ create: { width: 8, height: 8, channels: 3, background: '#888' } }).jpeg().toBuffer()
  .then((b) => sharp(b).resize(4).webp().toBuffer()).then((b) => sharp(b).avif({ effort: 0 }).toBuffer());
const input = readFileSync(file);
const spec = parseSegment(segment, limits);
const predicted = predictCost(describeTransform(await inspect(input, limits), spec, limits));
global.gc?.();
const before = kb('VmRSS');
writeFileSync('/proc/self/clear_refs', '5');
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const out = await render(input, spec, limits);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
const peak = kb('VmHWM');
console.log(JSON.stringify({ file, segment, peakBytes: peak - before, ms, cpuMs, predictedBytes: predicted.memoryBytes, predictedMs: predicted.cpuMs, width: out.width, height: out.height }));
