import { fileURLToPath } from 'node:url';
import { build, transform, type Plugin } from 'esbuild';
import ts from 'typescript';
import type { ParseLimits } from '../../../src/ops/spec.js';

/** CloudFront's limit on a function's code. */
export const CLOUDFRONT_FUNCTION_MAX_BYTES = 10 * 1024;

const ENTRY = fileURLToPath(new URL('../../../src/cdn/viewer-request.ts', import.meta.url));
const GLOBAL = 'resizerViewerRequest';

/**
 * The edge needs no error messages (a refused URL goes on to the Lambda, which explains it), and classes are not
 * part of cloudfront-js-2.0. The grammar's errors become plain throwable objects with no text.
 */
const edgeErrors: Plugin = {
  name: 'edge-errors',
  setup(b) {
    b.onResolve({ filter: /\/errors\/index\.js$/ }, () => ({ path: 'edge-errors', namespace: 'edge' }));
    b.onLoad({ filter: /.*/, namespace: 'edge' }, () => ({
      contents: 'export function BadRequest() {}\nexport function expected() { return ""; }\nexport function quote() { return ""; }',
      loader: 'js',
    }));
  },
};

/**
 * The grammar uses Map, Set, Object.entries and Object.fromEntries, and the ES2015 string and array methods below.
 * CloudFront's runtime documentation does not promise all of them, so minimal stand-ins fill any that are missing.
 * They cover only the operations the grammar uses.
 */
const PRELUDE = `
var EdgeMap = typeof Map !== "undefined" ? Map : (function () {
  function M(e) { this.k = []; this.v = []; for (var i = 0; e && i < e.length; i++) this.set(e[i][0], e[i][1]); }
  M.prototype.has = function (k) { return this.k.indexOf(k) >= 0; };
  M.prototype.get = function (k) { return this.v[this.k.indexOf(k)]; };
  M.prototype.set = function (k, v) { var i = this.k.indexOf(k); if (i < 0) { this.k.push(k); this.v.push(v); } else this.v[i] = v; return this; };
  return M;
})();
var EdgeSet = typeof Set !== "undefined" ? Set : (function () {
  function S() { this.k = []; }
  S.prototype.has = function (k) { return this.k.indexOf(k) >= 0; };
  S.prototype.add = function (k) { if (!this.has(k)) this.k.push(k); return this; };
  return S;
})();
// TypeScript's ES5 helpers, smaller, and spreading strings too (\`[...'fff']\`, where its own needs downlevelIteration).
var __assign = Object.assign || function (t) { for (var i = 1; i < arguments.length; i++) for (var k in arguments[i]) if (Object.prototype.hasOwnProperty.call(arguments[i], k)) t[k] = arguments[i][k]; return t; };
var __spreadArray = function (to, from) { return to.concat(Array.prototype.slice.call(from)); };
var sp = String.prototype, ap = Array.prototype;
if (!sp.startsWith) sp.startsWith = function (s) { return this.indexOf(s) === 0; };
if (!sp.endsWith) sp.endsWith = function (s) { return this.slice(this.length - s.length) === s; };
if (!sp.includes) sp.includes = function (s) { return this.indexOf(s) >= 0; };
if (!ap.includes) ap.includes = function (v) { return this.indexOf(v) >= 0; };
if (!ap.find) ap.find = function (f) { for (var i = 0; i < this.length; i++) if (f(this[i])) return this[i]; };
if (!Object.entries) Object.entries = function (o) { return Object.keys(o).map(function (k) { return [k, o[k]]; }); };
if (!Object.fromEntries) Object.fromEntries = function (e) { var o = {}; e.forEach(function (p) { o[p[0]] = p[1]; }); return o; };
`;

/**
 * Compiles src/cdn/viewer-request.ts, with the grammar it imports (src/url/segment.ts, src/ops/), into one
 * cloudfront-js-2.0 function: esbuild bundles it, TypeScript lowers it to ES5 syntax (which the runtime supports
 * in full), esbuild minifies it. `limits` must be the Lambda's (RESIZER_MAX_OUTPUT_WIDTH/HEIGHT), so both refuse
 * the same sizes.
 */
export async function viewerRequestCode(limits: ParseLimits): Promise<string> {
  const bundled = await build({
    entryPoints: [ENTRY], bundle: true, write: false, format: 'esm',
    // ES2018 in, so esbuild lowers ?? and ?. (compactly) and templates to `+`; TypeScript lowers the rest to ES5.
    platform: 'neutral', target: 'es2018', supported: { 'template-literal': false }, plugins: [edgeErrors], logLevel: 'silent',
    // The grammar's Map and Set go through the prelude's, which are the runtime's own where it has them.
    define: { Map: 'EdgeMap', Set: 'EdgeSet' },
  });
  const text = bundled.outputFiles[0]!.text;
  const exports = /export\s*\{([^}]*)\};?\s*$/.exec(text);
  if (!exports || !/\bviewerRequest\b/.test(exports[1] ?? '')) throw new Error('src/cdn/viewer-request.ts must export viewerRequest');
  // One closure: everything in it minifies to short names; only `handler`, which CloudFront calls, stays global.
  const script = `var ${GLOBAL} = (function () {\n${PRELUDE}${text.slice(0, exports.index)}\nreturn viewerRequest;\n})();\n`
    + `function handler(event) { return ${GLOBAL}(event, ${JSON.stringify(limits)}); }\n`;
  const es5 = ts.transpileModule(script, {
    compilerOptions: { target: ts.ScriptTarget.ES5, ignoreDeprecations: '6.0', removeComments: true, noEmitHelpers: true },
  }).outputText;
  const missing = [...new Set(es5.match(/\b__[a-zA-Z]+\b/g) ?? [])].filter((h) => !PRELUDE.includes(`var ${h} =`));
  if (missing.length) throw new Error(`The viewer-request function needs TypeScript helpers the prelude lacks: ${missing.join(', ')}`);
  const code = (await transform(es5, { minify: true, target: 'es5', logLevel: 'silent' })).code;
  const bytes = Buffer.byteLength(code);
  if (bytes > CLOUDFRONT_FUNCTION_MAX_BYTES) {
    throw new Error(`The viewer-request function is ${bytes} bytes, over CloudFront's ${CLOUDFRONT_FUNCTION_MAX_BYTES}`);
  }
  return code;
}
