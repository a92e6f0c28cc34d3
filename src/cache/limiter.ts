import { ServiceUnavailable } from '../errors/index.js';

/**
 * At most `concurrency` jobs at once, at most `queueSize` waiting behind them, none waiting longer than
 * `queueTimeoutMs`. Overflow is refused at once with 503 + Retry-After, so an overloaded server answers fast
 * instead of piling up memory and latency.
 */
export class Limiter {
  private running = 0;
  private readonly queue: Array<{ start: () => void; timer: NodeJS.Timeout }> = [];

  constructor(private readonly opts: { concurrency: number; queueSize: number; queueTimeoutMs: number }) {}

  get active(): number { return this.running; }
  get waiting(): number { return this.queue.length; }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.opts.concurrency) await this.wait();
    else this.running++;
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private wait(): Promise<void> {
    if (this.queue.length >= this.opts.queueSize) {
      return Promise.reject(new ServiceUnavailable('Server busy, try again shortly', 1));
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => { clearTimeout(entry.timer); resolve(); },
        timer: setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new ServiceUnavailable('Server busy, try again shortly', 2));
        }, this.opts.queueTimeoutMs),
      };
      this.queue.push(entry);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    // The slot passes straight to the next waiter, so `running` stays the same.
    if (next) next.start();
    else this.running--;
  }
}
