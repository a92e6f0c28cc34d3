/** Concurrent calls for one key share one execution and its result (or its error). */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  get size(): number {
    return this.inFlight.size;
  }

  /** `shared` tells whether this caller joined work another caller had started. */
  async run(key: string, work: () => Promise<T>): Promise<{ value: T; shared: boolean }> {
    const existing = this.inFlight.get(key);
    if (existing) return { value: await existing, shared: true };
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return { value: await promise, shared: false };
  }
}
