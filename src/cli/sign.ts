import { accessRulesOf } from '../config/access.js';
import type { Config } from '../config/index.js';
import { signPath } from '../url/builder.js';
import { configOrExitCode } from './load-config.js';

/**
 * `resizer sign <path>`: prints the path signed with the first signing key of the config (flags, env or key
 * file, as `serve` reads them), presets expanded and options made canonical.
 */
export function sign(path: string, flags: Partial<Record<keyof Config, string>>, expiresIn?: string): number {
  const config = configOrExitCode(flags);
  if (typeof config === 'number') return config;
  const rules = accessRulesOf(config);
  const key = rules.signingKeys?.[0];
  if (!key) {
    console.error('resizer: no signing key: give --signing-key, RESIZER_SIGNING_KEYS or --signing-key-file');
    return 2;
  }
  let expires: number | undefined;
  if (expiresIn !== undefined) {
    if (!/^\d{1,10}$/.test(expiresIn) || Number(expiresIn) < 1) {
      console.error(`resizer: Expected a number of seconds for --expires-in but received ${JSON.stringify(expiresIn)}`);
      return 2;
    }
    expires = Math.floor(Date.now() / 1000) + Number(expiresIn);
  }
  try {
    console.log(signPath(path, key, { expires, presets: rules.presets, limits: { maxOutputWidth: config.maxOutputWidth, maxOutputHeight: config.maxOutputHeight } }));
    return 0;
  } catch (err) {
    console.error(`resizer: ${(err as Error).message}`);
    return 2;
  }
}
