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
import { awsClientConfig } from '../../core/aws.js';
import type { Batch, RawItem } from '../../core/batch.js';
import type { Source, SourceContext, StateStore } from '../../core/component.js';
import { ControlError, describeError, SourceError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import { UnitRunner, type UnitState } from '../../runtimes/runner/runner.js';
import type { PassEnd, UnitRead, WorkUnit } from '../../runtimes/runner/unit.js';
import type { KinesisSourceConfig } from './schema.js';

/** Per-shard checkpoint: the last sequence number every sink has, and whether the shard is done. */
export interface ShardCheckpoint {
  sequence?: string;
  finished?: boolean;
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

  constructor(
    private readonly cfg: KinesisSourceConfig,
    client?: KinesisClient,
  ) {
    this.name = cfg.name;
    this.client = client ?? new KinesisClient(awsClientConfig(cfg.aws));
  }

  status() {
    const shards = [...this.shards].map(([id, s]) => [id, s instanceof UnitRunner ? shardStatus(s) : s]);
    return { stream: this.cfg.stream, shards: Object.fromEntries(shards) };
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
        running.set(
          id,
          this.readShard(id, cp, fromParent, ctx)
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

  private async readShard(
    shardId: string,
    checkpoint: ShardCheckpoint | undefined,
    fromParent: boolean,
    ctx: SourceContext,
  ): Promise<void> {
    const unit = new ShardUnit(this, shardId, checkpoint, fromParent, ctx.state);
    const runner = new UnitRunner(unit, {
      process: ctx.process,
      signal: ctx.signal,
      log: ctx.log,
      intervalMs: this.cfg.poll_interval,
      bound: { items: this.cfg.commit_every.records, bytes: this.cfg.commit_every.bytes },
    });
    this.shards.set(shardId, runner);
    await runner.run();
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

  /** An iterator just after `sequence`, or at the start position for a shard never read. */
  resumeAt(shardId: string, sequence: string | undefined, fromParent: boolean): Promise<string> {
    return sequence
      ? this.iterator(shardId, 'AFTER_SEQUENCE_NUMBER', sequence)
      : this.iterator(shardId, fromParent ? 'TRIM_HORIZON' : this.cfg.start_position);
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
    private readonly checkpoint: ShardCheckpoint | undefined,
    private readonly fromParent: boolean,
    private readonly state: StateStore,
  ) {
    this.id = `${source.stream}/${shardId}`;
  }

  async load(): Promise<string | undefined> {
    return this.checkpoint?.sequence;
  }

  async *read(from: string | undefined, signal: AbortSignal): AsyncGenerator<UnitRead<string>, PassEnd> {
    let iterator: string | undefined = await this.source.resumeAt(this.shardId, from, this.fromParent);
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
    return this.state.put<ShardCheckpoint>(this.source.checkpointKey(this.shardId), { sequence });
  }

  finish(sequence: string | undefined): Promise<void> {
    return this.state.put<ShardCheckpoint>(this.source.checkpointKey(this.shardId), {
      sequence,
      finished: true,
    });
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
