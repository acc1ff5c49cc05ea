import type { Shard } from '@aws-sdk/client-kinesis';
import { type Lease, LeaseLostError, type LeaseTable, SHARD_END, type Written } from './lease-table.js';

export interface CoordinatorOptions {
  workerId: string;
  /** A lease whose counter has not moved for this long is expired: its owner is presumed dead. */
  leaseDurationMs: number;
  /** Never hold more than this many leases (KCL's maxLeasesForWorker). */
  maxLeases?: number;
  now?: () => number;
}

/** A lease this worker holds, with the counter of its last successful write. */
export interface HeldLease {
  shardId: string;
  counter: number;
  checkpoint: string;
  subSequence: number;
  renewedAt: number;
  /** Another worker asked for this lease: stop the shard, then `handOff`. */
  handoffTo?: string;
}

/** A child shard is read only after each parent still in the table was read to its end. */
export function parentsDone(lease: Lease, byShard: Map<string, Lease>): boolean {
  return lease.parents.every((p) => {
    const parent = byShard.get(p);
    return !parent || parent.checkpoint === SHARD_END;
  });
}

/**
 * Which leases to take now, as KCL's lease taker decides: aim at an even share
 * (ceil(leases / live workers)); take free, expired or own-named leases up to it; when there are
 * none, steal one lease (never more per cycle) from the most loaded worker if it holds more than
 * the share, or the share while we are two or more short.
 */
export function leasesToTake(
  leases: Lease[],
  me: string,
  expired: (l: Lease) => boolean,
  maxLeases = Number.POSITIVE_INFINITY,
): Lease[] {
  const byShard = new Map(leases.map((l) => [l.shardId, l]));
  const live = (l: Lease) => l.owner !== undefined && l.owner !== me && !expired(l);
  const inPlay = leases.filter((l) => l.checkpoint !== SHARD_END && (live(l) || parentsDone(l, byShard)));
  const load = new Map<string, Lease[]>([[me, []]]);
  for (const l of inPlay) {
    const owner = live(l) ? l.owner! : l.owner === me && !expired(l) ? me : undefined;
    if (owner) load.set(owner, [...(load.get(owner) ?? []), l]);
  }
  const mine = load.get(me)!.length;
  const target = Math.min(maxLeases, Math.ceil(inPlay.length / load.size));
  const needed = target - mine;
  if (needed <= 0) return [];
  const available = inPlay.filter((l) => (l.owner === undefined || expired(l)) && parentsDone(l, byShard));
  if (available.length > 0) return available.slice(0, needed);
  let victim: Lease[] = [];
  for (const [owner, held] of load) if (owner !== me && held.length > victim.length) victim = held;
  const stealable = victim.length > target || (victim.length === target && needed > 1);
  const candidate = victim.find((l) => parentsDone(l, byShard));
  return stealable && candidate ? [candidate] : [];
}

/**
 * This worker's side of a KCL-compatible lease table: adds leases for new shards, takes and
 * steals leases, renews the ones it holds and writes their checkpoints. Writes to one lease are
 * made one at a time, since each is conditional on the counter the previous one left.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, HeldLease>();
  /** The counter each lease had when we last saw it change, and when: how expiry is judged. */
  private readonly seen = new Map<string, { counter: number; at: number }>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Leases we asked their live owner to hand over, and when. */
  private readonly asked = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    readonly table: LeaseTable,
    private readonly opts: CoordinatorOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get workerId(): string {
    return this.opts.workerId;
  }

  holding(): HeldLease[] {
    return [...this.held.values()];
  }

  holds(shardId: string): boolean {
    return this.held.has(shardId);
  }

  /**
   * Adds a free lease for each listed shard the table does not know yet (KCL's shard sync), at
   * `seed`'s checkpoint when it has one (a daemon switching to leases keeps its place).
   */
  async sync(
    shards: Pick<Shard, 'ShardId' | 'ParentShardId' | 'AdjacentParentShardId'>[],
    startPosition: 'TRIM_HORIZON' | 'LATEST',
    seed: (shardId: string) => Promise<string | undefined> = async () => undefined,
  ): Promise<void> {
    const known = new Set((await this.table.list()).map((l) => l.shardId));
    const listed = new Set(shards.map((s) => s.ShardId!));
    for (const shard of shards) {
      if (known.has(shard.ShardId!)) continue;
      const parents = [shard.ParentShardId, shard.AdjacentParentShardId].filter(
        (p): p is string => p !== undefined && listed.has(p),
      );
      // A child holds what was written after its parents: it is read from its start.
      const initial = parents.length > 0 ? 'TRIM_HORIZON' : startPosition;
      await this.table.add(shard.ShardId!, (await seed(shard.ShardId!)) ?? initial, parents);
    }
  }

  /**
   * Scans the table and takes what `leasesToTake` says; returns the leases won. A lease of a live
   * worker is first asked for (a logferry owner hands it over once its deliveries are committed);
   * it is stolen, as KCL steals, only when the owner has not done so within lease_duration.
   */
  async take(): Promise<HeldLease[]> {
    const leases = await this.table.list();
    this.observe(leases);
    const won: HeldLease[] = [];
    const wanted = leasesToTake(leases, this.workerId, (l) => this.expired(l), this.opts.maxLeases);
    for (const lease of wanted) {
      if (this.held.has(lease.shardId) || !(await this.mayTake(lease))) continue;
      const counter = await this.table.take(lease, this.workerId);
      // Someone else wrote it since the scan (renewed, took it): try again next cycle.
      if (counter === undefined) continue;
      this.asked.delete(lease.shardId);
      const { handoffTo: _, ...rest } = lease;
      const h = { ...rest, counter, renewedAt: this.now() };
      this.held.set(lease.shardId, h);
      won.push(h);
    }
    return won;
  }

  private async mayTake(lease: Lease): Promise<boolean> {
    const stealing = lease.owner !== undefined && lease.owner !== this.workerId && !this.expired(lease);
    if (!stealing) return true;
    const askedAt = this.asked.get(lease.shardId);
    // Not asked yet, or the request was cleared since (the lease changed hands): ask.
    if (askedAt === undefined || lease.handoffTo !== this.workerId) {
      if (await this.table.askHandoff(lease, this.workerId)) this.asked.set(lease.shardId, this.now());
      return false;
    }
    if (this.now() - askedAt <= this.opts.leaseDurationMs) return false;
    this.asked.delete(lease.shardId);
    return true;
  }

  /** Hands a lease over to the worker that asked for it; call once the shard's unit has stopped. */
  async handOff(shardId: string): Promise<void> {
    const to = this.held.get(shardId)?.handoffTo;
    if (!to) return;
    await this.write(shardId, (c) => this.table.handOff(shardId, this.workerId, c, to));
    this.held.delete(shardId);
  }

  /** Renews every held lease; returns the shards whose lease was lost (taken, or not renewable in time). */
  async renew(): Promise<string[]> {
    const lost: string[] = [];
    for (const h of this.holding()) {
      try {
        await this.write(h.shardId, (c) => this.table.renew(h.shardId, this.workerId, c));
      } catch (e) {
        // A lease we could not renew for a whole lease duration may already be someone else's.
        if (e instanceof LeaseLostError || this.now() - h.renewedAt > this.opts.leaseDurationMs) {
          this.held.delete(h.shardId);
          lost.push(h.shardId);
        }
      }
    }
    return lost;
  }

  /** Writes a shard's checkpoint into its lease; throws LeaseLostError once the lease is not ours. */
  async checkpoint(shardId: string, sequence: string): Promise<void> {
    await this.write(shardId, (c) => this.table.checkpoint(shardId, this.workerId, c, sequence));
    const h = this.held.get(shardId);
    if (h) h.checkpoint = sequence;
  }

  /** Marks a shard read to its end and gives its lease up: its children can now be taken. */
  async finish(shardId: string): Promise<void> {
    await this.checkpoint(shardId, SHARD_END);
    await this.release(shardId);
  }

  /** Gives a lease up, so another worker need not wait for it to expire. */
  async release(shardId: string): Promise<void> {
    await this.write(shardId, (c) => this.table.release(shardId, this.workerId, c));
    this.held.delete(shardId);
  }

  /** Gives every held lease up (graceful shutdown); one that cannot be released simply expires. */
  async releaseAll(): Promise<void> {
    for (const h of this.holding()) await this.release(h.shardId).catch(() => this.held.delete(h.shardId));
  }

  private write(shardId: string, update: (counter: number) => Promise<Written>): Promise<void> {
    const run = async () => {
      const h = this.held.get(shardId);
      if (!h) throw new LeaseLostError(this.table.name, shardId);
      try {
        const written = await update(h.counter);
        h.counter = written.counter;
        h.renewedAt = this.now();
        if (written.handoffTo && written.handoffTo !== this.workerId) h.handoffTo = written.handoffTo;
      } catch (e) {
        if (e instanceof LeaseLostError) this.held.delete(shardId);
        throw e;
      }
    };
    const next = (this.queues.get(shardId) ?? Promise.resolve()).then(run, run);
    this.queues.set(
      shardId,
      next.catch(() => undefined),
    );
    return next;
  }

  private observe(leases: Lease[]): void {
    const at = this.now();
    for (const l of leases) {
      const s = this.seen.get(l.shardId);
      if (!s || s.counter !== l.counter) this.seen.set(l.shardId, { counter: l.counter, at });
    }
  }

  private expired(l: Lease): boolean {
    if (l.owner === undefined) return false;
    // Ours by name but not held: left by an earlier run of this worker id.
    if (l.owner === this.workerId) return !this.held.has(l.shardId);
    const s = this.seen.get(l.shardId);
    return s !== undefined && this.now() - s.at > this.opts.leaseDurationMs;
  }
}
