import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import type { Batch, RawItem } from '../../core/batch.js';
import type { Source, SourceContext, StateStore } from '../../core/component.js';
import { ControlError, describeError, SourceError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import { awsClientConfig } from '../../platform/aws.js';
import { UnitRunner, type UnitState } from '../../runtimes/runner/runner.js';
import type { PassEnd, UnitRead, WorkUnit } from '../../runtimes/runner/unit.js';
import { LeaseLostError, LeaseTable, SHARD_END } from './lease-table.js';
import { LeasedReader, type LeasedShards } from './leased-reader.js';
import { type HeldLease, LeaseCoordinator } from './leases.js';
import type { KinesisLeasesConfig, KinesisSourceConfig } from './schema.js';

/** Per-shard checkpoint: the last sequence number every sink has, and whether the shard is done. */
export interface ShardCheckpoint {
  sequence?: string;
  finished?: boolean;
}

/** Where a shard's reading starts: after (or, `replayRecord`, at) `sequence`, else at `initial`. */
interface ShardStart {
  sequence?: string;
  initial: ShardIteratorType;
  /** The checkpoint is part-way through an aggregated record: read that record again, whole. */
  replayRecord?: boolean;
}

/** Where a shard's checkpoints go: the state store, or its row in the lease table. */
interface ShardPositions {
  commit(sequence: string): Promise<void>;
  finish(sequence: string | undefined): Promise<void>;
}

interface ShardStatus {
  sequence?: string;
  millis_behind?: number;
  state: UnitState | 'waiting-for-parent';
  /** The wait between polls now (`thread NAME interval` changes it). */
  interval_ms?: number;
  reads?: number;
  last_error?: string;
}

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
]);
/** A sequence number as the Kinesis API defines it (StartingSequenceNumber's pattern). */
const SEQUENCE_NUMBER = /^(0|[1-9]\d{0,128})$/;

/** Kinesis allows five GetRecords calls per second per shard. */
const MIN_READ_GAP_MS = 200;

/**
 * Reads a Kinesis stream without Lambda: one loop per open shard, a checkpoint per shard written
 * only after every sink has the records, parents read to their end before their children, and
 * backoff on throttling. After a restart it resumes right after the last checkpoint.
 */
export class KinesisSource implements Source {
  readonly name: string;
  private readonly client: KinesisClient;
  private readonly shards = new Map<string, ShardStatus | UnitRunner<string>>();
  private coordinator: LeaseCoordinator | undefined;

  constructor(
    private readonly cfg: KinesisSourceConfig,
    client?: KinesisClient,
  ) {
    this.name = cfg.name;
    this.client = client ?? new KinesisClient(awsClientConfig(cfg.aws));
  }

  status() {
    const shards = [...this.shards].map(([id, s]) => [id, s instanceof UnitRunner ? shardStatus(s) : s]);
    const leases = this.coordinator && {
      table: this.coordinator.table.name,
      worker_id: this.coordinator.workerId,
      held: this.coordinator.holding().map((l) => l.shardId),
    };
    return { stream: this.cfg.stream, shards: Object.fromEntries(shards), ...(leases ? { leases } : {}) };
  }

  units(): UnitRunner<string>[] {
    return [...this.shards.values()].filter((s) => s instanceof UnitRunner);
  }

  get stream(): string {
    return this.cfg.stream;
  }

  checkpointKey(shardId: string): string {
    return `kinesis/${this.cfg.stream}/${shardId}`;
  }

  async run(ctx: SourceContext): Promise<void> {
    if (this.cfg.leases) return this.runLeased(ctx, this.cfg.leases);
    const running = new Map<string, Promise<void>>();
    let wake: () => void = () => {};
    while (!ctx.signal.aborted) {
      const shards = await this.listShards();
      const ids = new Set(shards.map((s) => s.ShardId!));
      for (const shard of shards) {
        const id = shard.ShardId!;
        if (running.has(id)) continue;
        const cp = await ctx.state.get<ShardCheckpoint>(this.checkpointKey(id));
        if (cp?.finished) {
          this.shards.set(id, { sequence: cp.sequence, state: 'finished' });
          continue;
        }
        if (!(await this.parentsDone(shard, ids, ctx))) {
          this.shards.set(id, { state: 'waiting-for-parent' });
          continue;
        }
        const fromParent = [shard.ParentShardId, shard.AdjacentParentShardId].some((p) => p && ids.has(p));
        const start = {
          sequence: cp?.sequence,
          initial: fromParent ? 'TRIM_HORIZON' : this.cfg.start_position,
        };
        running.set(
          id,
          this.readShard(id, start, this.stateStorePositions(id, ctx.state), ctx)
            .catch((e) => {
              // A shard loop that dies is restarted on the next refresh, from its checkpoint.
              ctx.log.error({ shard: id }, `${this.cfg.stream}/${id}: ${describeError(e)}`);
            })
            .finally(() => {
              running.delete(id);
              wake();
            }),
        );
      }
      await Promise.race([
        sleep(this.cfg.shard_refresh, ctx.signal),
        new Promise<void>((r) => {
          wake = r;
        }),
      ]);
    }
    await Promise.all(running.values());
  }

  private async parentsDone(shard: Shard, listed: Set<string>, ctx: SourceContext): Promise<boolean> {
    for (const parent of [shard.ParentShardId, shard.AdjacentParentShardId]) {
      // A parent no longer listed has aged out of retention: nothing left to read first.
      if (!parent || !listed.has(parent)) continue;
      const cp = await ctx.state.get<ShardCheckpoint>(this.checkpointKey(parent));
      if (!cp?.finished) return false;
    }
    return true;
  }

  async listShards(): Promise<Shard[]> {
    const out: Shard[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.cfg.stream }),
      );
      out.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token);
    return out;
  }

  private async iterator(shardId: string, type: ShardIteratorType, sequence?: string): Promise<string> {
    const res = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.cfg.stream,
        ShardId: shardId,
        ShardIteratorType: type,
        ...(sequence ? { StartingSequenceNumber: sequence } : {}),
      }),
    );
    if (!res.ShardIterator)
      throw new SourceError(`no iterator for ${this.cfg.stream}/${shardId}`, { retryable: true });
    return res.ShardIterator;
  }

  /** A state-store checkpoint as a lease checkpoint: where a daemon was before leases were turned on. */
  private async stateStoreCheckpoint(shardId: string, state: StateStore): Promise<string | undefined> {
    const cp = await state.get<ShardCheckpoint>(this.checkpointKey(shardId));
    return cp?.finished ? SHARD_END : cp?.sequence;
  }

  private stateStorePositions(shardId: string, state: StateStore): ShardPositions {
    const key = this.checkpointKey(shardId);
    return {
      commit: (sequence) => state.put<ShardCheckpoint>(key, { sequence }),
      finish: (sequence) => state.put<ShardCheckpoint>(key, { sequence, finished: true }),
    };
  }

  private async readShard(
    shardId: string,
    start: ShardStart,
    positions: ShardPositions,
    ctx: SourceContext,
  ): Promise<void> {
    const unit = new ShardUnit(this, shardId, start, positions);
    const runner = new UnitRunner(unit, {
      process: ctx.process,
      committed: ctx.committed,
      signal: ctx.signal,
      log: ctx.log,
      intervalMs: this.cfg.poll_interval,
      bound: { items: this.cfg.commit_every.records, bytes: this.cfg.commit_every.bytes },
    });
    this.shards.set(shardId, runner);
    await runner.run();
  }

  /**
   * Reads only the shards whose lease this worker holds (see LeasedReader); their checkpoints are
   * written to the lease rows, and a shard whose lease is lost stops after the slice in flight.
   */
  private async runLeased(ctx: SourceContext, cfg: KinesisLeasesConfig): Promise<void> {
    const dynamo = new DynamoDBClient(awsClientConfig({ ...this.cfg.aws, ...cfg.aws }));
    const table = new LeaseTable(dynamo, cfg.table);
    const coordinator = new LeaseCoordinator(table, {
      workerId: cfg.worker_id ?? defaultWorkerId(),
      leaseDurationMs: cfg.lease_duration,
      maxLeases: cfg.max_leases,
    });
    this.coordinator = coordinator;
    const shards: LeasedShards = {
      listShards: () => this.listShards(),
      seed: (id) => this.stateStoreCheckpoint(id, ctx.state),
      read: (lease) => this.readLeasedShard(lease, coordinator, ctx),
      stop: (id) => this.stopLeasedShard(id),
      lost: (id) => this.leaseLost(id, ctx),
    };
    const reader = new LeasedReader(coordinator, shards, {
      startPosition: this.cfg.start_position,
      renewEveryMs: cfg.renew_interval ?? Math.floor(cfg.lease_duration / 3),
      takeEveryMs: cfg.take_interval ?? cfg.lease_duration * 2,
      shardRefreshMs: this.cfg.shard_refresh,
      log: ctx.log,
      label: this.cfg.stream,
    });
    try {
      await reader.run(ctx.signal);
    } finally {
      dynamo.destroy();
    }
  }

  private async readLeasedShard(
    lease: HeldLease,
    coordinator: LeaseCoordinator,
    ctx: SourceContext,
  ): Promise<void> {
    const { shardId, checkpoint } = lease;
    if (checkpoint === 'AT_TIMESTAMP') {
      // Handed back, so a KCL worker of the same application can read it.
      await coordinator.release(shardId);
      throw new SourceError(
        `lease ${coordinator.table.name}/${shardId} starts AT_TIMESTAMP, which logferry cannot resume from; set its checkpoint to TRIM_HORIZON or a sequence number`,
      );
    }
    const special = checkpoint === 'TRIM_HORIZON' || checkpoint === 'LATEST';
    const start: ShardStart = special
      ? { initial: checkpoint }
      : { sequence: checkpoint, initial: 'TRIM_HORIZON', replayRecord: lease.subSequence > 0 };
    const positions: ShardPositions = {
      commit: (sequence) =>
        coordinator.checkpoint(shardId, sequence).catch((e) => {
          if (e instanceof LeaseLostError) this.leaseLost(shardId, ctx);
          throw e;
        }),
      finish: () => coordinator.finish(shardId),
    };
    return this.readShard(shardId, start, positions, ctx);
  }

  /**
   * Stops a shard whose lease goes to another worker. Handed over, it has committed everything it
   * delivered; taken, what it delivered but did not commit is read again there.
   */
  private stopLeasedShard(shardId: string): void {
    const runner = this.shards.get(shardId);
    this.shards.delete(shardId);
    if (runner instanceof UnitRunner) runner.stop();
  }

  private leaseLost(shardId: string, ctx: SourceContext): void {
    this.stopLeasedShard(shardId);
    ctx.log.warn(
      { shard: shardId },
      `${this.cfg.stream}/${shardId}: lease taken by another worker; stopping it here`,
    );
  }

  /** One GetRecords call on a shard iterator; throttling becomes a retryable read error. */
  async getRecords(iterator: string): Promise<GetRecordsCommandOutput> {
    try {
      return await this.client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: this.cfg.batch_size }),
      );
    } catch (e) {
      const name = (e as Error).name;
      if (THROTTLED.has(name) || name === 'ExpiredIteratorException')
        throw new SourceError(`${this.cfg.stream}: ${name}`, { retryable: true, cause: e });
      throw e;
    }
  }

  /** An iterator just after `from` (at it, to read a part-read record again), or at the start position. */
  resumeAt(shardId: string, from: string | undefined, start: ShardStart): Promise<string> {
    if (!from) return this.iterator(shardId, start.initial);
    const again = start.replayRecord && from === start.sequence;
    return this.iterator(shardId, again ? 'AT_SEQUENCE_NUMBER' : 'AFTER_SEQUENCE_NUMBER', from);
  }

  toBatch(shardId: string, records: _Record[]): Batch {
    const items: RawItem[] = records.map((r) => {
      const data = r.Data ?? new Uint8Array();
      return {
        ackId: r.SequenceNumber!,
        origin: {
          source: this.name,
          type: 'kinesis',
          ref: `${this.cfg.stream}/${shardId}/${r.SequenceNumber}`,
          attrs: {
            stream: this.cfg.stream,
            shard: shardId,
            sequence: r.SequenceNumber,
            partition_key: r.PartitionKey,
          },
        },
        body: { kind: 'bytes', bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength) },
      };
    });
    return { source: this.name, items };
  }
}

/**
 * One shard as a work unit: reads from the sequence after its checkpoint, one GetRecords call per
 * read, and is finished once a closed shard has been read to its end.
 */
class ShardUnit implements WorkUnit<string> {
  readonly id: string;

  constructor(
    private readonly source: KinesisSource,
    private readonly shardId: string,
    private readonly start: ShardStart,
    private readonly positions: ShardPositions,
  ) {
    this.id = `${source.stream}/${shardId}`;
  }

  async load(): Promise<string | undefined> {
    return this.start.sequence;
  }

  async *read(from: string | undefined, signal: AbortSignal): AsyncGenerator<UnitRead<string>, PassEnd> {
    let iterator: string | undefined = await this.source.resumeAt(this.shardId, from, this.start);
    while (iterator && !signal.aborted) {
      const started = Date.now();
      const res = await this.source.getRecords(iterator);
      const records = res.Records ?? [];
      yield {
        batch: this.source.toBatch(this.shardId, records),
        cursorAfter: (i) => records[i]!.SequenceNumber!,
        lagMs: res.MillisBehindLatest,
      };
      // The shard was closed by a reshard and has been read to its end.
      if (!res.NextShardIterator) return 'finished';
      iterator = res.NextShardIterator;
      if (records.length > 0) await sleep(MIN_READ_GAP_MS - (Date.now() - started), signal);
    }
    return 'idle';
  }

  commit(sequence: string): Promise<void> {
    return this.positions.commit(sequence);
  }

  finish(sequence: string | undefined): Promise<void> {
    return this.positions.finish(sequence);
  }

  /** The shard reads on after this sequence number (AFTER_SEQUENCE_NUMBER). */
  parseCursor(text: string): string {
    if (!SEQUENCE_NUMBER.test(text))
      throw new ControlError(`${this.id}: a checkpoint is a Kinesis sequence number (digits only)`, {
        refusal: 'invalid',
      });
    return text;
  }

  describeCursor(sequence: string): string {
    return sequence;
  }
}

/** Unique per process, readable in the lease table: which host holds which shard. */
function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

function shardStatus(r: UnitRunner<string>): ShardStatus {
  return {
    sequence: r.lastCursor,
    millis_behind: r.lagMs,
    state: r.state,
    interval_ms: r.intervalMs,
    reads: r.reads,
    last_error: r.lastError,
  };
}

export function create(cfg: KinesisSourceConfig): Source {
  return new KinesisSource(cfg);
}
