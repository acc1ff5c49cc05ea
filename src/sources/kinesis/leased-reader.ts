import type { Shard } from '@aws-sdk/client-kinesis';
import type { Logger } from '../../core/component.js';
import { describeError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import type { HeldLease, LeaseCoordinator } from './leases.js';

/** What the leased reader needs from the Kinesis source. */
export interface LeasedShards {
  listShards(): Promise<Shard[]>;
  /** Where a shard was before leases were turned on (its new lease row starts there). */
  seed(shardId: string): Promise<string | undefined>;
  /** Reads a held shard until it is stopped, finished or failed. */
  read(lease: HeldLease): Promise<void>;
  /** Stops a shard's unit after the slice in flight, to hand its lease over. */
  stop(shardId: string): void;
  /** Stops a shard's unit whose lease another worker took. */
  lost(shardId: string): void;
}

export interface LeasedReaderOptions {
  startPosition: 'TRIM_HORIZON' | 'LATEST';
  renewEveryMs: number;
  takeEveryMs: number;
  /** How often to look for new shards, and the wait before a shard that failed is read again. */
  shardRefreshMs: number;
  log: Logger;
  label: string;
}

/**
 * Runs the shards this worker holds a lease on: one loop renews the held leases (a lost one is
 * stopped), every take interval scans the table for leases to take, and starts a unit for each
 * held shard. A shard another logferry worker asked for is stopped and then handed over.
 */
export class LeasedReader {
  private readonly running = new Map<string, Promise<void>>();
  private readonly handingOver = new Set<string>();
  private readonly retryAt = new Map<string, number>();
  private nextSync = 0;
  private nextTake = 0;
  private wake: () => void = () => {};

  constructor(
    private readonly coordinator: LeaseCoordinator,
    private readonly shards: LeasedShards,
    private readonly opts: LeasedReaderOptions,
  ) {}

  async run(signal: AbortSignal): Promise<void> {
    await this.coordinator.table.ensure(signal);
    while (!signal.aborted) {
      await this.cycle();
      for (const lease of this.coordinator.holding()) {
        if (lease.handoffTo) this.handOver(lease.shardId);
        else this.start(lease);
      }
      await Promise.race([
        sleep(this.opts.renewEveryMs, signal),
        new Promise<void>((r) => {
          this.wake = r;
        }),
      ]);
    }
    await Promise.all(this.running.values());
    while (this.handingOver.size > 0) await sleep(50);
    await this.coordinator.releaseAll();
  }

  /** Shard sync and take when due, then renewal; a table outage is logged and tried again. */
  private async cycle(): Promise<void> {
    try {
      if (Date.now() >= this.nextSync) {
        const listed = await this.shards.listShards();
        await this.coordinator.sync(listed, this.opts.startPosition, (id) => this.shards.seed(id));
        this.nextSync = Date.now() + this.opts.shardRefreshMs;
      }
      if (Date.now() >= this.nextTake) {
        await this.coordinator.take();
        this.nextTake = Date.now() + this.opts.takeEveryMs;
      }
      for (const shardId of await this.coordinator.renew()) this.shards.lost(shardId);
    } catch (e) {
      this.opts.log.warn({ table: this.coordinator.table.name }, `${this.opts.label}: ${describeError(e)}`);
    }
  }

  private start(lease: HeldLease): void {
    const { shardId } = lease;
    if (this.running.has(shardId) || Date.now() < (this.retryAt.get(shardId) ?? 0)) return;
    const done = this.shards
      .read(lease)
      .catch((e) => {
        this.retryAt.set(shardId, Date.now() + this.opts.shardRefreshMs);
        this.opts.log.error({ shard: shardId }, `${this.opts.label}/${shardId}: ${describeError(e)}`);
      })
      .finally(() => {
        this.running.delete(shardId);
        // A shard read to its end frees its children: look for them now.
        if (!this.coordinator.holds(shardId)) this.nextTake = this.nextSync = 0;
        this.wake();
      });
    this.running.set(shardId, done);
  }

  /** Stops the shard (the slice in flight is delivered and committed), then hands the lease over. */
  private handOver(shardId: string): void {
    if (this.handingOver.has(shardId)) return;
    this.handingOver.add(shardId);
    this.shards.stop(shardId);
    void (this.running.get(shardId) ?? Promise.resolve())
      .then(() => this.coordinator.handOff(shardId))
      .catch((e) =>
        this.opts.log.warn({ shard: shardId }, `${this.opts.label}/${shardId}: ${describeError(e)}`),
      )
      .finally(() => this.handingOver.delete(shardId));
  }
}
