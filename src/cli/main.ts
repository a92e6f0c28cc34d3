import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { DEFAULTS, SETTINGS, type Config } from '../config/index.js';
import { buildApp } from '../runtime.js';
import { configOrExitCode } from './load-config.js';
import { purge } from './purge.js';
import { gatherFromWorkers } from '../observe/cluster-metrics.js';
import { isClusterWorker, isSweeper, onPrimaryDrain, superviseWorkers, workerShare } from '../server/cluster.js';
import { drainer, drainOnSignals } from '../server/drain.js';
import { createHttpServer, listen } from '../server/http.js';
import { createOpsServer } from '../server/ops-server.js';

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Adds every config setting as a flag whose help names its variable and default. */
function addSettings(cmd: Command): Command {
  for (const s of SETTINGS) {
    const option = new Option(`${s.flag} ${s.boolean ? '[value]' : '<value>'}`, `${s.help} [env ${s.env}, default ${JSON.stringify(DEFAULTS[s.key])}]`);
    const joiner = s.repeatable;
    if (joiner) option.argParser((value: string, previous: string | undefined) => (previous === undefined ? value : `${previous}${joiner}${value}`));
    cmd.addOption(option);
  }
  return cmd;
}

function flagsOf(opts: Record<string, string>): Partial<Record<keyof Config, string>> {
  const flags: Partial<Record<keyof Config, string>> = {};
  for (const s of SETTINGS) {
    const v = opts[camel(s.flag)];
    if (v !== undefined) flags[s.key] = v;
  }
  return flags;
}

export async function main(argv: string[]): Promise<number | undefined> {
  const program = new Command('resizer')
    .description('On-demand image resizing: GET /{W}x{H}/{image} returns the image resized, made once and cached.')
    .showHelpAfterError()
    .exitOverride();

  let exitCode: number | undefined;
  addSettings(program.command('serve').description('serve images over HTTP')).action(async (opts: Record<string, string>) => {
    exitCode = await serve(flagsOf(opts));
  });
  addSettings(program.command('purge').argument('<key>', 'source image key, e.g. 2024/06/cat.jpg')
    .description('delete every stored derivative of a source image (after the source changed)'))
    .action(async (key: string, opts: Record<string, string>) => {
      exitCode = await purge(key, flagsOf(opts));
    });
  addSettings(program.command('warm')
    .description('make derivatives of every source image ahead of traffic (skips those already stored, so a rerun resumes)')
    .option('--size <WxH...>', 'sizes to make, e.g. 300x200 600x (repeatable)')
    .option('--options <segment...>', 'option segments to make, as in URLs: 300x200,cover,webp (repeatable)')
    .option('--prefix <prefix>', 'only sources whose key starts with this, e.g. 2024/'))
    .action(async (opts: Record<string, string>) => {
      const { size, options, prefix } = opts as unknown as { size?: string[]; options?: string[]; prefix?: string };
      // The tools load on use: `serve` starts without their libraries (progress bar, ICC parser, HMAC).
      exitCode = await (await import('./warm.js')).warmCommand({ size, options, prefix }, flagsOf(opts));
    });
  addSettings(program.command('info').argument('<key>', 'source image key, e.g. 2024/06/cat.jpg')
    .description('describe a source image and the derivatives stored for it')
    .option('--json', 'machine-readable output'))
    .action(async (key: string, opts: Record<string, string>) => {
      exitCode = await (await import('./info.js')).infoCommand(key, Boolean(opts.json), flagsOf(opts));
    });
  addSettings(program.command('sign').argument('<path>', 'request path, e.g. /300x200,webp/2024/06/cat.jpg')
    .option('--expires-in <seconds>', 'the signed URL is refused this many seconds from now')
    .description('print the path signed with the first signing key (docs/url-api.md)'))
    .action(async (path: string, opts: Record<string, string>) => {
      exitCode = (await import('./sign.js')).sign(path, flagsOf(opts), opts.expiresIn);
    });
  program.addHelpText('after', `\nEnvironment variables (flags win over them):\n${SETTINGS.map((s) => `  ${s.env.padEnd(28)} ${s.flag}`).join('\n')}\n\nRun "resizer serve --help" for every flag.`);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    if (typeof code === 'number') return code;
    throw err;
  }
  return exitCode;
}

async function serve(flags: Partial<Record<keyof Config, string>>): Promise<number | undefined> {
  const config = configOrExitCode(flags);
  if (typeof config === 'number') return config;
  const missing = await missingFolder(config.source);
  if (missing) {
    console.error(`resizer: Invalid --source / RESIZER_SOURCE: ${missing}`);
    return 2;
  }
  const logger = pino({ level: config.logLevel });
  const worker = isClusterWorker();
  if (config.workers > 1 && !worker) {
    // The primary serves the ops port: metrics summed over the workers, readiness of them all.
    const gathered = config.metrics === 'on' || config.metricsPort ? gatherFromWorkers() : undefined;
    let stopping = false;
    const ops = gathered && config.metricsPort ? createOpsServer({
      metrics: config.metrics === 'on' ? async () => ({ contentType: gathered.contentType, text: await gathered.metrics() }) : undefined,
      ready: async () => !stopping && gathered.ready(),
    }, logger) : undefined;
    await superviseWorkers(config.workers, logger, config.drainTimeoutSeconds * 1000, () => { stopping = true; });
    if (ops) logOps(logger, await listen(ops, config.metricsPort, config.host));
    return undefined;
  }
  const app = await buildApp(workerShare(config, config.workers), logger, {}, { clusterWorker: worker, sweep: isSweeper() });
  const server = createHttpServer(app, logger);
  const addr = await listen(server, config.port, config.host);
  logger.info({ source: config.source, cache: config.cache, memoryBudgetMb: Math.round(app.admission.opts.memoryBudgetBytes / 2 ** 20) }, `resizer listening on http://${addr.address}:${addr.port}`);
  const { metrics } = app;
  const ops = config.metricsPort && !worker ? createOpsServer({
    metrics: metrics ? async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }) : undefined,
    ready: () => app.readiness.isReady(),
  }, logger) : undefined;
  if (ops) logOps(logger, await listen(ops, config.metricsPort, config.host));
  const d = drainer(server, { timeoutMs: config.drainTimeoutSeconds * 1000, readiness: app.readiness, logger, after: ops ? [ops] : [] });
  drainOnSignals(d);
  if (worker) onPrimaryDrain(() => d.start('primary'));
  return undefined;
}

function logOps(logger: { info(obj: object, msg?: string): void }, addr: { address: string; port: number }): void {
  logger.info({ port: addr.port }, `ops endpoints (metrics, healthz, readyz) on http://${addr.address}:${addr.port}`);
}

/** A local source must exist before the server starts, or every request would be a confusing 404. */
async function missingFolder(location: string): Promise<string | undefined> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return undefined;
  const st = await stat(location).catch(() => undefined);
  if (!st) return `folder ${JSON.stringify(location)} does not exist`;
  if (!st.isDirectory()) return `${JSON.stringify(location)} is not a folder`;
  return undefined;
}
