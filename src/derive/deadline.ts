import { TransformTimeout } from '../errors/index.js';
import type { Limiter } from '../cache/limiter.js';

export interface DeadlineOptions {
  /** The answer comes no later than this after the job got its slot. */
  timeoutMs: number;
  /**
   * How long past the deadline the abandoned job keeps its slot. libvips cannot be interrupted everywhere:
   * sharp's timeout is checked on libvips' progress signals, which the AVIF encoder (libheif/aom) does not send
   * while it encodes, so an 8192² q100 AVIF ran ~10 s past a 2 s timeout. The thread cannot be killed; it
   * runs to its end and its result is dropped. Keeping the slot while it runs stops new transforms from
   * piling more work onto a busy CPU; the cap stops a runaway job from holding the slot forever.
   */
  holdAfterTimeoutMs: number;
}

/**
 * Runs `job` in a limiter slot and answers by the deadline whether or not the job finished (504 after it).
 * The slot is freed when the job settles, or `holdAfterTimeoutMs` after the deadline, whichever is first.
 */
export function runWithDeadline<T>(limiter: Limiter, job: () => Promise<T>, opts: DeadlineOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    limiter.run(async () => {
      const work = job();
      let deadline: NodeJS.Timeout | undefined;
      let cap: NodeJS.Timeout | undefined;
      const abandoned = new Promise<undefined>((done) => {
        deadline = setTimeout(() => {
          late = true;
          reject(new TransformTimeout(`Image took longer than ${opts.timeoutMs / 1000} s to process`));
          cap = setTimeout(done, opts.holdAfterTimeoutMs, undefined);
        }, opts.timeoutMs);
      });
      try {
        return await Promise.race([work, abandoned]);
      } finally {
        clearTimeout(deadline);
        clearTimeout(cap);
      }
    }).then(
      // Settled after the slot is released, so the caller's next job finds it free.
      (value) => { if (!late) resolve(value as T); },
      // Also the limiter's own refusal (503), when the job never started.
      (err: unknown) => { if (!late) reject(err); },
    );
  });
}
