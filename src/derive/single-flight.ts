interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  /** Callers still waiting for the result; a caller without a signal never leaves. */
  waiting: number;
}

/**
 * Concurrent calls for one key share one execution and its result (or its error). The work's signal aborts
 * only when every caller has gone away: a request whose client left keeps running for the ones still waiting.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Flight<T>>();

  get size(): number {
    return this.inFlight.size;
  }

  /** `shared` tells whether this caller joined work another caller had started. */
  async run(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<{ value: T; shared: boolean }> {
    const existing = this.inFlight.get(key);
    const flight = existing ?? this.start(key, work);
    flight.waiting++;
    if (signal) {
      const leave = () => { if (--flight.waiting === 0) flight.controller.abort(); };
      if (signal.aborted) leave();
      else signal.addEventListener('abort', leave, { once: true });
      flight.promise.finally(() => signal.removeEventListener('abort', leave)).catch(() => undefined);
    }
    return { value: await flight.promise, shared: existing !== undefined };
  }

  private start(key: string, work: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = { controller, waiting: 0, promise: Promise.resolve() as Promise<never> };
    flight.promise = work(controller.signal).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, flight);
    return flight;
  }
}
