import type { Logger, StateStore } from '../../core/component.js';
import type { DeliveryMemory } from '../../core/delivery-memory.js';

/** What is kept for a batch that Lambda will retry: per sink, the event ids it already took. */
interface StoredTaken {
  expires_at: number;
  took: Record<string, string[]>;
}

/** A Kinesis batch is retried for as long as the stream keeps its records (24 h by default). */
const TTL_MS = 24 * 60 * 60_000;
/** Bounds one state item (DynamoDB items stop at 400 KB); past it the retry may repeat events. */
const MAX_STORED_IDS = 10_000;

/**
 * The delivery memory of one Lambda invocation, carried over to the invocation that retries its
 * batch (possibly in another container) through the state store, under the keys of what Lambda
 * retries: a Kinesis shard, or each failed SQS message. It is written only when some item failed,
 * i.e. when some sink took events another did not; a retry that delivers everything removes it.
 */
export class StoredDeliveryMemory implements DeliveryMemory {
  private readonly taken = new Map<string, Set<string>>();
  private readonly loaded: string[] = [];

  private constructor(
    private readonly state: StateStore,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Reads what earlier invocations kept under `keys` (none for a batch that cannot be a retry). */
  static async load(
    state: StateStore,
    keys: readonly string[],
    log: Logger,
    now: () => number = Date.now,
  ): Promise<StoredDeliveryMemory> {
    const memory = new StoredDeliveryMemory(state, log, now);
    for (const key of keys) {
      const stored = await state.get<StoredTaken>(key);
      if (!stored || stored.expires_at <= now()) continue;
      for (const [sink, ids] of Object.entries(stored.took)) memory.remember(sink, ids);
      memory.loaded.push(key);
    }
    return memory;
  }

  empty(): boolean {
    return this.taken.size === 0;
  }

  private idsOf(sink: string): Set<string> {
    const ids = this.taken.get(sink) ?? new Set<string>();
    this.taken.set(sink, ids);
    return ids;
  }

  took(sink: string, eventId: string): boolean {
    return this.taken.get(sink)?.has(eventId) === true;
  }

  remember(sink: string, eventIds: readonly string[]): void {
    const ids = this.idsOf(sink);
    for (const id of eventIds) ids.add(id);
  }

  forget(sink: string, eventIds: readonly string[]): void {
    const ids = this.taken.get(sink);
    if (!ids) return;
    for (const id of eventIds) ids.delete(id);
    if (ids.size === 0) this.taken.delete(sink);
  }

  /**
   * After the invocation: what the sinks took is kept under the keys of what will be retried
   * (`failedKeys`); keys read earlier and not failing again are removed.
   */
  async settle(failedKeys: readonly string[]): Promise<void> {
    for (const key of this.loaded) if (!failedKeys.includes(key)) await this.state.delete(key);
    if (failedKeys.length === 0) return;
    const took = Object.fromEntries([...this.taken].map(([sink, ids]) => [sink, [...ids]]));
    const count = Object.values(took).reduce((n, ids) => n + ids.length, 0);
    if (count > MAX_STORED_IDS)
      this.log.warn(
        { ids: count },
        `delivery memory of ${count} events is too large to keep; the retry may repeat them on sinks that took them`,
      );
    if (count === 0 || count > MAX_STORED_IDS) {
      for (const key of failedKeys) if (this.loaded.includes(key)) await this.state.delete(key);
      return;
    }
    const value: StoredTaken = { expires_at: this.now() + TTL_MS, took };
    for (const key of failedKeys) await this.state.put<StoredTaken>(key, value);
  }
}

/**
 * The key for an asynchronous invocation (S3 notifications, CloudWatch Logs subscriptions):
 * Lambda retries a failed one with the same request id, so that id names what will be retried.
 * Without a request id (a local run) there is nothing to carry over.
 */
export function asyncInvocationKey(source: string, requestId: string | undefined): string[] {
  return requestId ? [`delivery-memory/${source}/async/${requestId}`] : [];
}
