import { ConfigError, loadConfig, type Config } from '../config/index.js';

/** The config for a command, or the exit code (2) after saying on stderr which flag or variable is wrong. */
export function configOrExitCode(flags: Partial<Record<keyof Config, string>>): Config | number {
  try {
    return loadConfig(flags);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`resizer: ${err.message}`);
    return 2;
  }
}
