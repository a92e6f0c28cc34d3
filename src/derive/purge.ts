import { derivativeKey } from '../keys/index.js';
import { validateKey } from '../keys/index.js';
import type { DerivativeStore } from '../storage/types.js';
import { mezzanineKey } from './mezzanine.js';

/** Deletes run this many at a time: enough to be quick on S3, few enough to stay polite. */
const PARALLEL_DELETES = 8;

/**
 * Deletes every derivative of one source: `{segment}/{key}` in each segment the store holds, and its mezzanine
 * (`_/mezzanine/{key}`), so a replaced source's sizes are never made from its old pixels. Returns the
 * derivative keys deleted (deleting a missing one is a no-op, so every segment's key is listed).
 */
export async function purgeDerivatives(store: DerivativeStore, sourceKey: string): Promise<string[]> {
  validateKey(sourceKey);
  const keys: string[] = [];
  for await (const segment of store.listSegments()) keys.push(derivativeKey(segment, sourceKey));
  keys.push(mezzanineKey(sourceKey));
  for (let i = 0; i < keys.length; i += PARALLEL_DELETES) {
    await Promise.all(keys.slice(i, i + PARALLEL_DELETES).map((k) => store.delete(k)));
  }
  return keys;
}
