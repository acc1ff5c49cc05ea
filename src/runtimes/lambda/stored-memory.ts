import type { ItemResult } from '../../core/batch.js';
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
 * batch (possibly in another container) through the state store. It is written only when some
 * item failed, i.e. when some sink took events another did not; a retry that delivers everything
 * removes it. The happy path costs one read of an absent key.
 */
export class StoredDeliveryMemory implements DeliveryMemory {
  private readonly taken = new Map<string, Set<string>>();
  private loaded = false;

  private constructor(
    private readonly state: StateStore,
    private readonly key: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** `key` names the batch's retry unit: a Kinesis shard (Lambda retries a shard's batch from its first failure). */
  static async load(
    state: StateStore,
    key: string,
    log: Logger,
    now: () => number = Date.now,
  ): Promise<StoredDeliveryMemory> {
    const memory = new StoredDeliveryMemory(state, key, log, now);
    const stored = await state.get<StoredTaken>(key);
    if (stored && stored.expires_at > now()) {
      for (const [sink, ids] of Object.entries(stored.took)) memory.remember(sink, ids);
      memory.loaded = true;
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

  /** After the invocation: keep what the sinks took when something is to be retried, else clear it. */
  async settle(items: readonly ItemResult[]): Promise<void> {
    if (!items.some((r) => r.status === 'failed')) {
      if (this.loaded) await this.state.delete(this.key);
      return;
    }
    const took = Object.fromEntries([...this.taken].map(([sink, ids]) => [sink, [...ids]]));
    const count = Object.values(took).reduce((n, ids) => n + ids.length, 0);
    if (count === 0 || count > MAX_STORED_IDS) {
      if (count > MAX_STORED_IDS)
        this.log.warn(
          { key: this.key, ids: count },
          `delivery memory of ${count} events is too large to keep; the retry may repeat them on sinks that took them`,
        );
      if (this.loaded) await this.state.delete(this.key);
      return;
    }
    await this.state.put<StoredTaken>(this.key, { expires_at: this.now() + TTL_MS, took });
  }
}
