/**
 * What a loop awaits between batches so an operator can pause it: closed by `close()`, opened by
 * `open()`; `wait()` resolves at once while open, else when opened or when `signal` aborts (a
 * paused loop must still stop on SIGTERM).
 */
export class PauseGate {
  private pending: { promise: Promise<void>; open: () => void } | undefined;

  get closed(): boolean {
    return this.pending !== undefined;
  }

  close(): void {
    if (this.pending) return;
    let open!: () => void;
    const promise = new Promise<void>((r) => {
      open = r;
    });
    this.pending = { promise, open };
  }

  open(): void {
    this.pending?.open();
    this.pending = undefined;
  }

  async wait(signal: AbortSignal): Promise<void> {
    while (this.pending && !signal.aborted) {
      await Promise.race([
        this.pending.promise,
        new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })),
      ]);
    }
  }
}
