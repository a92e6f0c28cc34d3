import { TransformTimeout } from '../errors/index.js';

export interface DeadlineOptions {
  /** The answer comes no later than this after the work got its CPU slot. */
  timeoutMs: number;
  /**
   * How long past the deadline the abandoned work keeps its slot. libvips cannot be interrupted everywhere:
   * sharp's timeout is checked on libvips' progress signals, which the AVIF encoder (libheif/aom) does not send
   * while it encodes, so an 8192² q100 AVIF ran ~10 s past a 2 s timeout. The thread cannot be killed; it
   * runs to its end and its result is dropped. Keeping the slot while it runs stops new transforms from
   * piling more work onto a busy CPU; the cap stops a runaway job from holding the slot forever.
   */
  holdAfterTimeoutMs: number;
}

/**
 * A transform deadline that answers on time whether or not the work finished, around any slot runner:
 *
 *   const d = new Deadline<T>(opts);
 *   const result = await d.answer(admission.run({ ..., work: (read) => d.hold(transform(read)) }));
 *
 * `hold` runs inside the slot: it starts the clock and keeps the slot until the work settles, or until
 * `holdAfterTimeoutMs` after the deadline, whichever is first. `answer` settles as the slot runner does, except
 * that at the deadline it rejects at once with TransformTimeout (422), leaving the work to finish unobserved.
 */
export class Deadline<T> {
  private late = false;
  private fire: ((err: Error) => void) | undefined;

  constructor(private readonly opts: DeadlineOptions) {}

  answer(run: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.fire = reject;
      run.then(
        // Settled after the slot is released, so the caller's next job finds it free.
        (value) => { if (!this.late) resolve(value); },
        (err: unknown) => { if (!this.late) reject(err); },
      );
    });
  }

  async hold(work: Promise<T>): Promise<T> {
    let deadline: NodeJS.Timeout | undefined;
    let cap: NodeJS.Timeout | undefined;
    const abandoned = new Promise<T>((done) => {
      deadline = setTimeout(() => {
        this.late = true;
        this.fire?.(new TransformTimeout(`Image took too long to process (over ${this.opts.timeoutMs / 1000} s)`));
        // The value is never seen: the answer has been given. It only ends the slot's wait.
        cap = setTimeout(done, this.opts.holdAfterTimeoutMs, undefined as T);
      }, this.opts.timeoutMs);
    });
    try {
      return await Promise.race([work, abandoned]);
    } finally {
      clearTimeout(deadline);
      clearTimeout(cap);
    }
  }
}
