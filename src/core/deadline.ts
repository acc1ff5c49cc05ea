/**
 * Stops work before a time limit (a Lambda's remaining time) with a safety margin, so that what
 * was not done can be handed back instead of being cut off mid-delivery.
 */
export class Deadline {
  private constructor(
    private readonly endsAt: number,
    private readonly marginMs: number,
    private readonly now: () => number,
  ) {}

  static never(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY, 0, Date.now);
  }

  static in(ms: number, marginMs = 0, now: () => number = Date.now): Deadline {
    return new Deadline(now() + ms, marginMs, now);
  }

  /** From a Lambda context: keep `marginMs` (default 10% of the time left, at least 1 s) for flushing. */
  static fromLambda(ctx: { getRemainingTimeInMillis(): number }, marginMs?: number): Deadline {
    const left = ctx.getRemainingTimeInMillis();
    return Deadline.in(left, marginMs ?? Math.max(1000, Math.floor(left * 0.1)));
  }

  remainingMs(): number {
    return this.endsAt - this.marginMs - this.now();
  }

  expired(): boolean {
    return this.remainingMs() <= 0;
  }
}
