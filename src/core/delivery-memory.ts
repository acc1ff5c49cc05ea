import type { LogEvent } from './event.js';

/**
 * Remembers which sinks already took an event whose item must be delivered again (another sink
 * failed), so the retry goes only to the sinks that still lack it: Firehose, Kinesis, stdout and
 * alert outputs cannot drop a repeat themselves. Keyed by sink and event id (ids are
 * deterministic, so a re-read item yields the same ones).
 */
export interface DeliveryMemory {
  /** True when nothing is remembered: the happy path then skips every lookup. */
  empty(): boolean;
  took(sink: string, eventId: string): boolean;
  remember(sink: string, eventIds: readonly string[]): void;
  forget(sink: string, eventIds: readonly string[]): void;
}

/**
 * In-process memory, bounded by entries and age: an item whose retry comes later than `ttlMs`,
 * or after `maxEntries` newer ones, is sent to every sink again, as without memory.
 */
export class BoundedDeliveryMemory implements DeliveryMemory {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly maxEntries = 200_000,
    private readonly ttlMs = 60 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  empty(): boolean {
    return this.entries.size === 0;
  }

  took(sink: string, eventId: string): boolean {
    const at = this.entries.get(key(sink, eventId));
    return at !== undefined && this.now() - at < this.ttlMs;
  }

  remember(sink: string, eventIds: readonly string[]): void {
    const at = this.now();
    for (const id of eventIds) {
      const k = key(sink, id);
      this.entries.delete(k);
      this.entries.set(k, at);
    }
    this.evictOldest();
  }

  forget(sink: string, eventIds: readonly string[]): void {
    for (const id of eventIds) this.entries.delete(key(sink, id));
  }

  private evictOldest(): void {
    // Maps iterate in insertion order and remember() re-inserts, so the first keys are the oldest.
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) return;
      this.entries.delete(k);
    }
  }
}

function key(sink: string, eventId: string): string {
  return `${sink}\u0000${eventId}`;
}

/** Indexes of the events `sink` still has to take. */
export function untaken(events: readonly LogEvent[], sink: string, memory?: DeliveryMemory): number[] {
  const all = events.map((_, i) => i);
  if (!memory || memory.empty()) return all;
  return all.filter((i) => !memory.took(sink, events[i]!.id));
}

/**
 * After one delivery round: when some sink failed, each sink's successes are remembered so the
 * retry skips them; when none failed, whatever was remembered for these events is done with.
 */
export function recordRound(
  events: readonly LogEvent[],
  sinks: readonly string[],
  failuresPerSink: readonly Map<number, string>[],
  memory?: DeliveryMemory,
): void {
  if (!memory) return;
  const anyFailed = failuresPerSink.some((f) => f.size > 0);
  if (!anyFailed && memory.empty()) return;
  sinks.forEach((sink, s) => {
    const failed = failuresPerSink[s]!;
    const took = events.filter((_, i) => !failed.has(i)).map((e) => e.id);
    if (anyFailed) memory.remember(sink, took);
    else memory.forget(sink, took);
  });
}
