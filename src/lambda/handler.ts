import { buildLambdaApps, lambdaConfig } from './apps.js';
import { createHandler } from './adapter.js';

/**
 * The Lambda entry point (`handler.handler`). The app is built once per container, outside the handler, from
 * the same RESIZER_* variables as the server: a config error fails the init, naming the variable.
 */
export const handler = createHandler(await buildLambdaApps(lambdaConfig()));
