import type {
  DeadLetterEntry,
  DeadLetterStore,
  Sink,
  SinkFailure,
  StoredDeadLetter,
} from '../core/component.js';
import { DeliveryError } from '../core/errors.js';
import type { LogEvent } from '../core/event.js';
import { defaultLimits } from '../core/limits.js';
import { Metrics } from '../core/metrics.js';
import type { Pipeline, Route } from '../core/pipeline.js';
import { memoryLogger } from '../platform/log.js';

/**
 * An in-memory sink with fault injection, for testing the core and runtimes: keeps events by id
 * (idempotent, like every real sink must be) and can be told to fail the next writes.
 */
export class MemorySink implements Sink {
  readonly byId = new Map<string, LogEvent>();
  readonly writes: LogEvent[][] = [];
  private faults: { remaining: number; retryable: boolean; indexes?: (i: number, e: LogEvent) => boolean }[] =
    [];

  constructor(readonly name = 'memory') {}

  /** The next `times` writes fail (only events matching `which`, if given). */
  failNext(times: number, retryable = true, which?: (i: number, e: LogEvent) => boolean): this {
    this.faults.push({ remaining: times, retryable, indexes: which });
    return this;
  }

  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    this.writes.push([...events]);
    const fault = this.faults.find((f) => f.remaining > 0);
    const failures: SinkFailure[] = [];
    if (fault) fault.remaining--;
    events.forEach((e, index) => {
      if (fault && (!fault.indexes || fault.indexes(index, e))) {
        failures.push({
          index,
          retryable: fault.retryable,
          error: new DeliveryError(fault.retryable ? 'destination busy (429)' : 'mapping error (400)', {
            sink: this.name,
            retryable: fault.retryable,
          }),
        });
      } else this.byId.set(e.id, e);
    });
    return failures;
  }

  async close(): Promise<void> {}
}

export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly entries: StoredDeadLetter[] = [];
  private n = 0;
  async put(entry: DeadLetterEntry): Promise<string> {
    const id = `m${++this.n}`;
    this.entries.push({ ...entry, id, time: new Date().toISOString() });
    return id;
  }
  async *list(): AsyncIterable<StoredDeadLetter> {
    yield* [...this.entries];
  }
  async remove(id: string): Promise<void> {
    const i = this.entries.findIndex((e) => e.id === id);
    if (i >= 0) this.entries.splice(i, 1);
  }
}

// Production code (pull duo, the Duo Lambda) uses it too, so it lives with the state stores.
export { MemoryStateStore } from '../state/memory/index.js';

/** A pipeline over in-memory parts; override any piece. */
export function testPipeline(
  route: Route,
  over: Partial<Pipeline> = {},
): Pipeline & { deadLetter: MemoryDeadLetterStore } {
  return {
    route: () => route,
    parser: async () => undefined,
    transforms: [],
    deadLetter: new MemoryDeadLetterStore(),
    limits: defaultLimits,
    delivery: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 }, chunkEvents: 1000 },
    log: memoryLogger(),
    metrics: new Metrics(),
    ...over,
  } as Pipeline & { deadLetter: MemoryDeadLetterStore };
}
