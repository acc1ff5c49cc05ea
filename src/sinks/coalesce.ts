import type { SinkFailure } from '../core/component.js';
import type { LogEvent } from '../core/event.js';

type Deliver = (events: readonly LogEvent[]) => Promise<SinkFailure[]>;

interface Waiting {
  events: readonly LogEvent[];
  resolve: (f: SinkFailure[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Joins writes that arrive within `intervalMs` of each other (many sources, small batches) into
 * one delivery, flushed by time or once `maxEvents` are waiting. Each writer still gets only its
 * own failures, with its own indexes, and is answered only after the destination has its events.
 * With `intervalMs` 0 every write is delivered at once.
 */
export class Coalescer {
  private waiting: Waiting[] = [];
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushing = new Set<Promise<void>>();

  constructor(
    private readonly deliver: Deliver,
    private readonly intervalMs: number,
    private readonly maxEvents: number,
  ) {}

  write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    if (this.intervalMs <= 0) return this.track(this.deliver(events));
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      this.count += events.length;
      if (this.count >= this.maxEvents) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
    });
  }

  /** Sends what is waiting now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    this.count = 0;
    if (batch.length === 0) return;
    const all = batch.flatMap((w) => w.events);
    const run = this.deliver(all).then(
      (failures) => {
        const starts: number[] = [];
        let at = 0;
        for (const w of batch) {
          starts.push(at);
          at += w.events.length;
        }
        const per: SinkFailure[][] = batch.map(() => []);
        for (const f of failures) {
          // The writer whose range holds this index; writes are few, a scan is fine.
          let k = starts.length - 1;
          while (starts[k]! > f.index) k--;
          per[k]!.push({ ...f, index: f.index - starts[k]! });
        }
        for (const [k, w] of batch.entries()) w.resolve(per[k]!);
      },
      (e) => {
        for (const w of batch) w.reject(e);
      },
    );
    void this.track(run);
  }

  /** Flushes what is waiting and resolves when every delivery has finished. */
  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.flushing]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const done: Promise<void> = p.then(
      () => undefined,
      () => undefined,
    );
    this.flushing.add(done);
    void done.finally(() => this.flushing.delete(done));
    return p;
  }
}
