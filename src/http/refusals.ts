import type { Logger } from '../derive/service.js';
import { internalMessage } from '../errors/index.js';
import type { AppResponse } from './headers.js';

export interface RefusalPolicy {
  /** Logs the refusal (summarised) and answers it after the hold. */
  answer(res: AppResponse, err: unknown, url: string): Promise<AppResponse> | AppResponse;
  /** Refusals counted and not yet logged. */
  readonly pending: number;
}

/** One log line a second at most under a storm of refusals: the first in full, then a count. */
const SUMMARY_MS = 1000;

/**
 * How a 503 leaves: held `holdMs`, so that a client retrying in a tight loop cannot turn refusals into a busy
 * loop that takes CPU from the admitted transforms; and logged, every one of them, but summarised, because a
 * line per refusal would cost more than the refusal itself when thousands a second arrive.
 */
export function createRefusalPolicy(holdMs: number, logger: Logger): RefusalPolicy {
  let counted = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (counted > 0) logger.warn({ refused: counted, seconds: SUMMARY_MS / 1000 }, 'requests refused');
    counted = 0;
  };
  return {
    get pending() { return counted; },
    answer(res, err, url) {
      if (timer === undefined) {
        logger.warn({ err, internal: internalMessage(err), url }, 'request refused');
        timer = setTimeout(flush, SUMMARY_MS);
        timer.unref();
      } else {
        counted++;
      }
      return holdMs > 0 ? new Promise((resolve) => setTimeout(resolve, holdMs, res)) : res;
    },
  };
}
