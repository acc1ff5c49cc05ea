/** Tracks a sink's writes in flight, so `close()` can wait for them (flush on shutdown). */
export class InFlight {
  private readonly pending = new Set<Promise<unknown>>();

  async track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    try {
      return await p;
    } finally {
      this.pending.delete(p);
    }
  }

  /** Resolves once every write that started before it has finished, however it ended. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
