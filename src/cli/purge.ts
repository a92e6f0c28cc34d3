import type { Config } from '../config/index.js';
import { configOrExitCode } from './load-config.js';
import { ResizerError } from '../errors/index.js';
import { openDerivativeStore, s3SettingsOf } from '../storage/open.js';
import { purgeDerivatives } from '../derive/purge.js';

/**
 * `resizer purge <key>`: deletes every derivative of one source from the derivative store (a folder or
 * s3://bucket/prefix), so the next request makes them again from the changed source. Servers' in-memory hot
 * sets are not reached from here; they let go within RESIZER_MEMORY_CACHE_TTL seconds.
 */
export async function purge(key: string, flags: Partial<Record<keyof Config, string>>): Promise<number> {
  const config = configOrExitCode(flags);
  if (typeof config === 'number') return config;
  const store = await openDerivativeStore(config.cache, s3SettingsOf(config));
  if (!store) {
    console.error('resizer: --cache / RESIZER_CACHE is "none": there are no stored derivatives to purge');
    return 2;
  }
  try {
    const keys = await purgeDerivatives(store, key);
    console.log(`purged ${key} from ${store.description}: ${keys.length} segment(s)`);
    return 0;
  } catch (err) {
    if (err instanceof ResizerError) {
      console.error(`resizer: purge failed: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
