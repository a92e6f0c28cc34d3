/**
 * `npm run build:lambda [-- --arch arm64|x64] [--out dir]`: the Lambda asset the CDK app deploys.
 *
 * - esbuild bundles the two handlers (HTTP and S3 events) and the SVG worker, each one file, next to each other:
 *   svg-process.ts finds the worker through import.meta.url, so it must sit beside the handler as svg-worker.js.
 * - sharp stays a real package (a native addon cannot be bundled): sharp at the version package-lock.json pins,
 *   installed for linux/{arch} with npm's --os/--cpu, so its prebuilt @img/sharp-linux-{arch} and libvips come
 *   from the registry like any package. They are kept in a staging folder and reused.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export type Arch = 'arm64' | 'x64';

export interface LambdaAssetOptions {
  arch: Arch;
  outDir: string;
}

/** Bundles into outDir (emptied first) and returns it. */
export async function buildLambdaAsset({ arch, outDir }: LambdaAssetOptions): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: {
      handler: join(ROOT, 'src/lambda/handler.ts'),
      's3-events': join(ROOT, 'src/lambda/s3-events-handler.ts'),
      'svg-worker': join(ROOT, 'src/pipeline/svg-worker.ts'),
    },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    external: ['sharp'],
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // The CommonJS packages in the bundle (the AWS SDK, pino) call require(); ESM has none of its own.
    banner: { js: "import { createRequire as __resizerRequire } from 'node:module'; const require = __resizerRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
  cpSync(join(sharpFor(arch), 'node_modules'), join(outDir, 'node_modules'), { recursive: true });
  // npm's own bookkeeping and command links (symlinks) have no use in the function.
  for (const extra of ['.bin', '.package-lock.json']) rmSync(join(outDir, 'node_modules', extra), { recursive: true, force: true });
  return outDir;
}

/** sharp's version as package-lock.json pins it: the one the tests ran against. */
export function lockedSharpVersion(): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  const version = lock.packages['node_modules/sharp']?.version;
  if (!version) throw new Error('sharp is not in package-lock.json');
  return version;
}

/** A folder whose node_modules holds sharp and its dependencies for linux/{arch} (glibc, as on Lambda). */
function sharpFor(arch: Arch): string {
  const version = lockedSharpVersion();
  const staging = join(ROOT, 'node_modules/.cache/resizer-lambda', `sharp-${version}-linux-${arch}`);
  const done = join(staging, '.complete');
  if (existsSync(done)) return staging;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'package.json'), '{"private":true}\n');
  // --ignore-scripts: sharp's install script would look for a local libvips; the prebuilt packages are all it needs.
  execFileSync('npm', [
    'install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=dev',
    '--os=linux', `--cpu=${arch}`, '--libc=glibc', `sharp@${version}`,
  ], { cwd: staging, stdio: ['ignore', 'ignore', 'inherit'] });
  for (const pkg of [`@img/sharp-linux-${arch}`, `@img/sharp-libvips-linux-${arch}`]) {
    if (!existsSync(join(staging, 'node_modules', pkg, 'package.json'))) throw new Error(`npm did not install ${pkg} for linux/${arch}`);
  }
  writeFileSync(done, '');
  return staging;
}

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arch = (argument('arch') ?? 'arm64') as Arch;
  if (arch !== 'arm64' && arch !== 'x64') throw new Error(`--arch must be arm64 or x64, not ${arch}`);
  const outDir = resolve(argument('out') ?? join(ROOT, 'dist/lambda-asset', arch));
  await buildLambdaAsset({ arch, outDir });
  console.log(`Lambda asset for linux/${arch} in ${outDir}`);
}
