import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../src/app.js';
import { DEFAULTS, type Config } from '../../src/config/index.js';
import { buildApp, type RunningApp, type StoreOverrides } from '../../src/runtime.js';
import { createHttpServer, listen } from '../../src/server/http.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

export interface TestServer {
  url: string;
  app: RunningApp;
  server: Server;
  cacheDir: string;
  close(): Promise<void>;
}

/** A real server on 127.0.0.1 (random port) over the fixtures folder, with a fresh temp cache folder. */
export async function startTestServer(
  overrides: Partial<Config> = {},
  inject: StoreOverrides & { logger?: Logger } = {},
): Promise<TestServer> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'resizer-test-'));
  // The background re-encode is off unless a test asks for it: it would change bytes and ETags under other tests.
  const config: Config = { ...DEFAULTS, source: FIXTURES, cache: cacheDir, port: 0, host: '127.0.0.1', logLevel: 'silent', optimise: 'off', ...overrides };
  const { logger = pino({ level: 'silent' }), ...stores } = inject;
  const app = await buildApp(config, logger, stores);
  const server = createHttpServer(app, pino({ level: 'silent' }));
  const addr = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    app,
    server,
    cacheDir,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}
