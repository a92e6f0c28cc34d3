import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, transform, type Plugin } from 'esbuild';
import ts from 'typescript';
import type { EdgeRules } from '../../../src/cdn/viewer-request.js';
import type { ParseLimits } from '../../../src/ops/spec.js';
import type { AccessRules } from '../../../src/url/gate.js';

/** CloudFront's limit on a function's code. */
export const CLOUDFRONT_FUNCTION_MAX_BYTES = 10 * 1024;
/** The KeyValueStore key holding the signing keys, comma-separated, the signing key first (as RESIZER_SIGNING_KEYS). */
export const SIGNING_KEYS_KVS_KEY = 'signing-keys';
/** Stands for the KeyValueStore's ID in the code (the stack puts the real one in); as long as one, so the size check holds. */
export const KVS_ID_PLACEHOLDER = 'resizer-key-value-store-id'.padEnd(36, '0');

const ENTRY = fileURLToPath(new URL('../../../src/cdn/viewer-request.ts', import.meta.url));
const GLOBAL = 'resizer';
/** Properties of the ops table's rows that only word messages. */
const MESSAGE_ONLY = ['name', 'expects'];
/** The core's error classes the grammar and gate throw. */
const ERRORS = ['BadRequest', 'Forbidden'];

/**
 * The edge needs no error messages (a refused URL goes on to the Lambda, which explains it; a 403 says nothing),
 * and classes are not part of cloudfront-js-2.0. The core's errors become plain constructors, told apart with
 * instanceof.
 */
const edgeErrors: Plugin = {
  name: 'edge-errors',
  setup(b) {
    b.onResolve({ filter: /\/errors\/index\.js$/ }, () => ({ path: 'edge-errors', namespace: 'edge' }));
    b.onLoad({ filter: /.*/, namespace: 'edge' }, () => ({
      contents: `${ERRORS.map((e) => `export function ${e}() {}\n`).join('')}export function expected() { return ""; }\nexport function quote() { return ""; }`,
      loader: 'js',
    }));
  },
};

/**
 * Shrinks the bundle before it is lowered to ES5: drops the arguments of `new BadRequest(…)` / `new Forbidden(…)`
 * / `new Error(…)` and the messages `expected(…)` / `quote(…)` build (~1 KB of text no one reads at the edge), and writes template
 * literals as `+` chains (ES5's `"".concat(…)` is longer; every value in them is a string or a number).
 */
const shrink: ts.TransformerFactory<ts.SourceFile> = (context) => {
  const f = context.factory;
  const named = (e: ts.Expression, names: string[]) => ts.isIdentifier(e) && names.includes(e.text.replace(/\d+$/, ''));
  const visit = (node: ts.Node): ts.Node => {
    if (ts.isNewExpression(node) && named(node.expression, [...ERRORS, 'Error'])) return f.updateNewExpression(node, node.expression, undefined, []);
    if (ts.isCallExpression(node) && named(node.expression, ['expected', 'quote'])) return f.createStringLiteral('');
    // The ops table's `name` and `expects` only word messages (and docs/url-api.md), which the edge has none of.
    if (ts.isObjectLiteralExpression(node)) {
      const kept = node.properties.filter((p) => !((ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p))
        && ts.isIdentifier(p.name) && MESSAGE_ONLY.includes(p.name.text)));
      if (kept.length !== node.properties.length) return ts.visitEachChild(f.updateObjectLiteralExpression(node, kept), visit, context);
    }
    if (ts.isNoSubstitutionTemplateLiteral(node)) return f.createStringLiteral(node.text);
    if (ts.isTemplateExpression(node)) {
      let out: ts.Expression = f.createStringLiteral(node.head.text);
      for (const span of node.templateSpans) {
        out = f.createAdd(out, f.createParenthesizedExpression(ts.visitNode(span.expression, visit) as ts.Expression));
        if (span.literal.text) out = f.createAdd(out, f.createStringLiteral(span.literal.text));
      }
      return out;
    }
    return ts.visitEachChild(node, visit, context);
  };
  return (file) => ts.visitNode(file, visit) as ts.SourceFile;
};

/**
 * cloudfront-js-2.0 documents ES5.1 in full plus ES2015's arrow functions. TypeScript's ES5 output writes every
 * function as `function (…) { return …; }`; one that reads neither `this` nor `arguments` means the same as an
 * arrow function, which is shorter: about 1.3 KB over the bundle. Declarations in the closure's body become
 * `var f = (…) => …` too, unless something constructs them with `new`; that they are no longer hoisted could
 * only matter while the closure runs, which the tests do on every load.
 */
const arrows: ts.TransformerFactory<ts.SourceFile> = (context) => {
  const f = context.factory;
  const ownThis = (node: ts.Node): boolean => {
    if (node.kind === ts.SyntaxKind.ThisKeyword || (ts.isIdentifier(node) && node.text === 'arguments')) return true;
    // A nested function has its own `this` (and one that reads none becomes an arrow without one).
    if (ts.isFunctionExpression(node) || ts.isFunctionDeclaration(node)) return false;
    return ts.forEachChild(node, ownThis) === true;
  };
  const constructed = new Set<string>();
  const arrow = (fn: ts.FunctionExpression | ts.FunctionDeclaration): ts.ArrowFunction | undefined => {
    if (fn.asteriskToken || !fn.body || ts.forEachChild(fn.body, ownThis)) return undefined;
    const only = fn.body.statements.length === 1 ? fn.body.statements[0] : undefined;
    const body = only && ts.isReturnStatement(only) && only.expression ? only.expression : fn.body;
    return f.createArrowFunction(undefined, undefined, fn.parameters, undefined, f.createToken(ts.SyntaxKind.EqualsGreaterThanToken), body);
  };
  let closure: ts.Node | undefined;
  const visit = (node: ts.Node): ts.Node => {
    if (!closure && ts.isFunctionExpression(node)) closure = node;
    const out = ts.visitEachChild(node, visit, context);
    if (ts.isFunctionExpression(out) && !out.name) return arrow(out) ?? out;
    if (ts.isFunctionDeclaration(out) && out.name && node.parent?.parent === closure && !constructed.has(out.name.text)) {
      const fn = arrow(out);
      if (fn) return f.createVariableStatement(undefined, [f.createVariableDeclaration(out.name, undefined, undefined, fn)]);
    }
    return out;
  };
  const findNew = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) constructed.add(node.expression.text);
    ts.forEachChild(node, findNew);
  };
  return (file) => {
    findNew(file);
    return ts.visitNode(file, visit) as ts.SourceFile;
  };
};

/** Applies `shrink` to every source file as esbuild loads it, so what it leaves unused (messages, stubs) is tree-shaken. */
const shrinkSources: Plugin = {
  name: 'shrink',
  setup(b) {
    b.onLoad({ filter: /\/src\/.*\.ts$/ }, async ({ path }) => {
      const source = ts.createSourceFile(path, await readFile(path, 'utf8'), ts.ScriptTarget.Latest, true);
      const [out] = ts.transform(source, [shrink]).transformed;
      return { contents: ts.createPrinter().printFile(out!), loader: 'ts' };
    });
  },
};

/**
 * Properties only the bundled code reads and writes (never from the event, the handler or a string key), renamed
 * to one or two letters by the minifier.
 */
const INTERNAL_PROPERTIES = new RegExp(`^(${[
  'checkSignature', 'admitsUnsigned', 'sizeAllowed', 'canonicalAllowed', 'restricted', 'sourceKey', 'signature', 'expires',
  'segment', 'preset', 'key', 'spec', 'varyAccept', 'validate', 'prefix', 'show', 'words', 'fields', 'field', 'aliases', 'op',
  'parse', 'build', 'limits', 'rules', 'nowSeconds', 'hmac', 'presets', 'signingKeys', 'allowedWidths',
  'allowedHeights', 'allowedSegments', 'presetsOnly',
].join('|')})$`);

/**
 * cloudfront-js-2.0 documents Map and Set, Object.assign and ES2015's string and array methods (includes,
 * startsWith, endsWith, find), so the grammar uses the runtime's own. Object.entries (ES2017) and
 * Object.fromEntries (ES2019) are not promised: minimal stand-ins fill them in if missing, covering only what
 * the grammar uses; the tests run the function with and without them.
 */
const PRELUDE = `
// TypeScript's ES5 spread helper, smaller, and spreading strings and Sets too (\`[...'fff']\`, where its own needs downlevelIteration).
var __spreadArray = function (to, from) { var a = []; if (from.forEach) from.forEach(function (v) { a.push(v); }); else a = Array.prototype.slice.call(from); return to.concat(a); };
var __assign = Object.assign;
if (!Object.entries) Object.entries = function (o) { return Object.keys(o).map(function (k) { return [k, o[k]]; }); };
if (!Object.fromEntries) Object.fromEntries = function (e) { var o = {}; e.forEach(function (p) { o[p[0]] = p[1]; }); return o; };
`;

export interface EdgeOptions {
  /** Presets and size rules, as the Lambda's config would have them (accessRulesOf). */
  rules?: AccessRules;
  /** Check signatures with the keys in the associated KeyValueStore (its ID is KVS_ID_PLACEHOLDER in the code). */
  signing?: boolean;
}

/** The gate's rules as data for the function's code. */
export function edgeRulesOf(rules: AccessRules = {}): EdgeRules {
  return {
    presets: [...(rules.presets ?? [])],
    allowedWidths: [...(rules.allowedWidths ?? [])],
    allowedHeights: [...(rules.allowedHeights ?? [])],
    allowedSegments: [...(rules.allowedSegments ?? [])],
    presetsOnly: rules.presetsOnly === true,
  };
}

/**
 * Compiles src/cdn/viewer-request.ts, with the grammar and gate it imports (src/url/, src/ops/), into one
 * cloudfront-js-2.0 function: esbuild bundles it, TypeScript lowers it to ES5 syntax (which the runtime supports
 * in full), esbuild minifies it. `limits` must be the Lambda's (RESIZER_MAX_OUTPUT_WIDTH/HEIGHT), so both refuse
 * the same sizes. With signing, the handler is async (the KeyValueStore's get is) and imports the runtime's
 * `crypto` and `cloudfront` modules; that wrapper is the only code past ES5.
 */
export async function viewerRequestCode(limits: ParseLimits, options: EdgeOptions = {}): Promise<string> {
  const bundled = await build({
    entryPoints: [ENTRY], bundle: true, write: false, format: 'esm',
    // ES2018 in, so esbuild lowers ?? and ?. (compactly); `shrink` turns templates into `+`; TypeScript lowers the rest to ES5.
    platform: 'neutral', target: 'es2018', supported: { 'class-field': true }, plugins: [edgeErrors, shrinkSources], logLevel: 'silent',
  });
  const text = bundled.outputFiles[0]!.text;
  const exports = /export\s*\{([^}]*)\};?\s*$/.exec(text);
  const names = ['viewerRequest', 'edgeHmac', 'keysFrom'];
  // The handler passes the context by position, so its names (in INTERNAL_PROPERTIES) can be shortened inside.
  const run = 'function (e, l, r, k, h, n) { return viewerRequest(e, { limits: l, rules: { presets: r[0], allowedWidths: r[1], '
    + 'allowedHeights: r[2], allowedSegments: r[3], presetsOnly: r[4] }, keys: k, hmac: h, nowSeconds: n }); }';
  if (!exports || names.some((n) => !new RegExp(`\\b${n}\\b`).test(exports[1] ?? ''))) {
    throw new Error(`src/cdn/viewer-request.ts must export ${names.join(', ')}`);
  }
  // One closure: everything in it minifies to short names; only what the handler calls is returned.
  const script = `var ${GLOBAL} = (function () {\n${PRELUDE}${text.slice(0, exports.index)}\nreturn { run: ${run}, edgeHmac: edgeHmac, keysFrom: keysFrom };\n})();\n`;
  const es5 = ts.transpileModule(script, {
    compilerOptions: { target: ts.ScriptTarget.ES5, ignoreDeprecations: '6.0', removeComments: true, noEmitHelpers: true, alwaysStrict: false },
  }).outputText;
  const lowered = ts.createPrinter().printFile(ts.transform(ts.createSourceFile('edge.js', es5, ts.ScriptTarget.ES5, true), [arrows]).transformed[0]!);
  const missing = [...new Set(lowered.match(/\b__[a-zA-Z]+\b/g) ?? [])].filter((h) => !PRELUDE.includes(`var ${h} =`));
  if (missing.length) throw new Error(`The viewer-request function needs TypeScript helpers the prelude lacks: ${missing.join(', ')}`);
  const body = (await transform(lowered, { minify: true, target: 'es5', supported: { arrow: true }, mangleProps: INTERNAL_PROPERTIES, logLevel: 'silent' })).code;
  const r = edgeRulesOf(options.rules);
  const args = (keys: string, hmac: string) => `e,${JSON.stringify(limits)},${JSON.stringify([r.presets, r.allowedWidths, r.allowedHeights, r.allowedSegments, r.presetsOnly])},${keys},${hmac},Math.floor(Date.now()/1e3)`;
  const code = options.signing
    // An unreadable or empty key list fails closed (503): keysFrom gives undefined for it.
    ? `import crypto from"crypto";import cf from"cloudfront";${body}var kvs=cf.kvs(${JSON.stringify(KVS_ID_PLACEHOLDER)}),hmac=${GLOBAL}.edgeHmac(crypto);`
      + `async function handler(e){var k;try{k=${GLOBAL}.keysFrom(await kvs.get(${JSON.stringify(SIGNING_KEYS_KVS_KEY)}))}catch(x){}return ${GLOBAL}.run(${args('k', 'hmac')})}\n`
    : `${body}function handler(e){return ${GLOBAL}.run(${args('[]', 'null')})}\n`;
  const bytes = Buffer.byteLength(code);
  if (bytes > CLOUDFRONT_FUNCTION_MAX_BYTES) {
    throw new Error(`The viewer-request function is ${bytes} bytes, over CloudFront's ${CLOUDFRONT_FUNCTION_MAX_BYTES}`);
  }
  return code;
}
