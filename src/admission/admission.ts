import { ClientGone, ServiceUnavailable, Unprocessable } from '../errors/index.js';

export interface AdmissionOptions {
  /** Transforms on the CPU at once (default: cores). */
  slots: number;
  /** Bytes that transforms in flight (predicted peaks) and the sources read for them may hold together. */
  memoryBudgetBytes: number;
  /**
   * Sources being read or read ahead, waiting for a slot. Reading happens outside the CPU slot, so a slot only
   * does CPU work; this bounds how many read sources sit in memory meanwhile.
   */
  readConcurrency: number;
  /** Most requests waiting beyond the slots (reading, or ready for a slot); more are refused at arrival. */
  queueSize: number;
  /** Each waiter's deadline: refused at arrival if its estimated wait is longer, 503 if it passes waiting. */
  queueTimeoutMs: number;
}

/** What a job costs once its source is read and its header known. */
export interface Price {
  /** Predicted peak memory of the transform, excluding the source bytes. */
  memoryBytes: number;
  /** Bytes of the source held in memory from the read until the transform ends. */
  sourceBytes: number;
  /** Predicted CPU milliseconds (the admission scales it by what it measures). */
  cpuMs: number;
}

/** One transform: read outside the slot, price, then CPU work inside it. */
export interface Job<S, T> {
  read(): Promise<S>;
  price(read: S): Price | Promise<Price>;
  work(read: S): Promise<T>;
  /** Aborted when nobody waits for the result any more: a waiter leaves the queue without running. */
  signal?: AbortSignal;
}

export interface AdmissionStats {
  /** Jobs that got a CPU slot. */
  started: number;
  /** Refused at arrival: the estimated wait was past the deadline, or the queue was full. */
  refused: number;
  /** Waited past their deadline without starting. */
  expired: number;
  /** Left the queue because their client went away, without running. */
  abandoned: number;
  /** Refused because they alone need more memory than the whole budget. */
  overBudget: number;
}

type State = 'read-wait' | 'reading' | 'ready' | 'running';

interface Entry {
  state: State;
  price?: Price;
  started?: number;
  /** Bytes this entry holds against the budget now. */
  heldBytes: number;
  wake?: () => void;
  fail?: (err: Error) => void;
  /** Set while reading, when the deadline or an abort comes before the read returns. */
  cancelled?: Error;
}

/**
 * Resident memory per predicted byte in flight. The model predicts one transform's peak in a fresh process;
 * transforms running side by side leave glibc's arenas fragmented, so RSS grows faster than their sum
 * (measured: 16 progressive misses, two at a time, added 1.3-1.45x the predicted bytes in flight).
 */
export const RSS_PER_PREDICTED_BYTE = 1.5;

/** Starting guess of a transform's wall time, until some have been measured. */
const INITIAL_SERVICE_MS = 150;
/** Weight of the newest measurement in the moving averages. */
const EWMA = 0.2;

/**
 * Admission by predicted cost. Requests wait in one deep FIFO; a transform starts when a CPU slot is free and
 * its predicted memory fits the budget. A request is refused at arrival only when its estimated wait (the work
 * ahead divided by the recent service rate) is past its deadline, with that estimate as Retry-After, so a
 * browser's page of misses is served and only real overload is refused.
 */
export class Admission {
  private readonly entries: Entry[] = [];
  private running = 0;
  private reading = 0;
  private heldBytes = 0;
  /** Moving averages: wall time of a transform, actual/predicted CPU time, transforms running at once. */
  private serviceMs = INITIAL_SERVICE_MS;
  private costRatio = 1;
  private measured = 0;
  private parallelism: number;
  readonly stats: AdmissionStats = { started: 0, refused: 0, expired: 0, abandoned: 0, overBudget: 0 };

  constructor(readonly opts: AdmissionOptions) {
    this.parallelism = opts.slots;
  }

  /** Transforms on the CPU now. */
  get active(): number { return this.running; }
  /** Requests admitted and not yet on the CPU (waiting to read, reading, or ready). */
  get waiting(): number { return this.entries.length - this.running; }
  /** Predicted bytes held by transforms in flight and their sources. */
  get bytesInFlight(): number { return this.heldBytes; }

  /** Milliseconds a request arriving now would wait for a slot. */
  estimatedWaitMs(now = performance.now()): number {
    if (this.running < this.opts.slots && this.waiting === 0) return 0;
    let work = 0;
    for (const e of this.entries) {
      const expected = e.price ? e.price.cpuMs * this.costRatio : this.serviceMs;
      work += e.state === 'running' ? Math.max(0, expected - (now - (e.started ?? now))) : expected;
    }
    return work / Math.max(1, Math.min(this.opts.slots, this.parallelism));
  }

  async run<S, T>(job: Job<S, T>): Promise<T> {
    if (job.signal?.aborted) throw new ClientGone();
    this.refuseIfOverloaded();
    const entry: Entry = { state: 'read-wait', heldBytes: 0 };
    this.entries.push(entry);
    const onAbort = () => this.cancel(entry, new ClientGone());
    job.signal?.addEventListener('abort', onAbort, { once: true });
    // A waiter that has not started by the deadline less its own transform cannot answer in time: it is let go
    // then (503), so that what is served is served within the deadline.
    const startBy = Math.max(this.opts.queueTimeoutMs / 2, this.opts.queueTimeoutMs - this.serviceMs);
    const timer = setTimeout(() => this.cancel(entry, this.busy()), startBy);
    try {
      this.pump();
      if (entry.state === 'read-wait') await this.turn(entry);
      const read = await job.read();
      const price = await job.price(read);
      if (price.memoryBytes * RSS_PER_PREDICTED_BYTE > this.opts.memoryBudgetBytes) {
        this.stats.overBudget++;
        throw new Unprocessable(`Image would need about ${mib(price.memoryBytes * RSS_PER_PREDICTED_BYTE)} MiB to process, over this server's memory budget of ${mib(this.opts.memoryBudgetBytes)} MiB`);
      }
      if (entry.cancelled) throw entry.cancelled;
      entry.price = price;
      this.hold(entry, price.sourceBytes * RSS_PER_PREDICTED_BYTE);
      // The read turn is kept until the CPU turn: read-ahead sources are bounded by readConcurrency too.
      entry.state = 'ready';
      this.pump();
      if (entry.state === 'ready') await this.turn(entry);
      clearTimeout(timer);
      return await job.work(read);
    } finally {
      clearTimeout(timer);
      job.signal?.removeEventListener('abort', onAbort);
      this.leave(entry);
    }
  }

  private refuseIfOverloaded(): void {
    // The deadline bounds the answer, not only the wait: the request's own transform must fit in it too.
    const wait = this.estimatedWaitMs() + (this.running >= this.opts.slots ? this.serviceMs : 0);
    // The queue holds queueSize beyond the slots: a request that could start at once is never refused by count.
    if (this.entries.length >= this.opts.slots + this.opts.queueSize || wait > this.opts.queueTimeoutMs) {
      this.stats.refused++;
      throw this.busy(wait);
    }
  }

  private busy(wait = this.estimatedWaitMs()): ServiceUnavailable {
    return new ServiceUnavailable('Server busy, try again shortly', Math.max(1, Math.ceil(wait / 1000)));
  }

  private turn(entry: Entry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      entry.wake = resolve;
      entry.fail = reject;
    });
  }

  /** The deadline or an abort: a waiter leaves at once; a reader leaves when its read returns; a runner runs on. */
  private cancel(entry: Entry, err: Error): void {
    if (entry.state === 'running' || entry.cancelled) return;
    entry.cancelled = err;
    if (err instanceof ClientGone) this.stats.abandoned++;
    else this.stats.expired++;
    if (entry.state !== 'reading') entry.fail?.(err);
  }

  private hold(entry: Entry, bytes: number): void {
    entry.heldBytes += bytes;
    this.heldBytes += bytes;
  }

  private leave(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    if (entry.state === 'reading') this.reading--;
    if (entry.state === 'ready') this.reading--;
    if (entry.state === 'running') {
      this.running--;
      this.measure(entry);
    }
    this.heldBytes -= entry.heldBytes;
    this.pump();
  }

  private measure(entry: Entry): void {
    const took = performance.now() - (entry.started ?? performance.now());
    // The first measurement replaces the starting guesses outright.
    const weight = this.measured++ === 0 ? 1 : EWMA;
    this.serviceMs += weight * (took - this.serviceMs);
    if (entry.price && entry.price.cpuMs > 0) {
      // Wall time over predicted CPU time: how fast this machine is now, contention included.
      this.costRatio += weight * (took / entry.price.cpuMs - this.costRatio);
    }
  }

  /** Hands out read turns (up to readConcurrency reading or read ahead) and CPU turns (FIFO, slot and budget). */
  private pump(): void {
    for (const e of this.entries) {
      if (e.cancelled) continue;
      // Reads are bounded by their own concurrency and by the budget: no new source comes in while the bytes
      // already held fill it (unless nothing at all is in flight).
      const room = this.heldBytes < this.opts.memoryBudgetBytes || (this.running === 0 && this.reading === 0);
      if (e.state === 'read-wait' && this.reading < this.opts.readConcurrency && room) {
        e.state = 'reading';
        this.reading++;
        e.wake?.();
      }
    }
    for (const e of this.entries) {
      if (e.state !== 'ready' || e.cancelled) continue;
      const memory = (e.price?.memoryBytes ?? 0) * RSS_PER_PREDICTED_BYTE;
      // Nothing running: the head goes even if read-ahead sources crowd the budget, or nothing ever would.
      const fits = this.running === 0 || this.heldBytes + memory <= this.opts.memoryBudgetBytes;
      // Strict FIFO: a ready request that does not fit yet holds back the ones behind it, so a large image
      // is never starved by a stream of small ones.
      if (this.running >= this.opts.slots || !fits) break;
      e.state = 'running';
      e.started = performance.now();
      this.reading--;
      this.running++;
      this.hold(e, memory);
      this.stats.started++;
      // Sampled only under saturation: how many run at once when the budget, not the slots, is the limit.
      if (this.waiting > 0) this.parallelism += EWMA * (this.running - this.parallelism);
      e.wake?.();
    }
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
