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
import { isAcked } from '../../core/batch.js';
import type { Source, SourceContext } from '../../core/component.js';
import { describeError, SourceError } from '../../core/errors.js';
import { backoffDelay, sleep } from '../../core/retry.js';
import type { KinesisSourceConfig } from './schema.js';

/** Per-shard checkpoint: the last sequence number every sink has, and whether the shard is done. */
export interface ShardCheckpoint {
  sequence?: string;
  finished?: boolean;
}

interface ShardStatus {
  sequence?: string;
  millis_behind?: number;
  state: 'reading' | 'waiting-for-parent' | 'finished' | 'backing-off';
}

const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
]);
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
  private readonly shards = new Map<string, ShardStatus>();

  constructor(
    private readonly cfg: KinesisSourceConfig,
    client?: KinesisClient,
  ) {
    this.name = cfg.name;
    this.client = client ?? new KinesisClient(awsClientConfig(cfg.aws));
  }

  status() {
    return { stream: this.cfg.stream, shards: Object.fromEntries(this.shards) };
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
    const key = this.checkpointKey(shardId);
    let committed = checkpoint?.sequence;
    const status: ShardStatus = { sequence: committed, state: 'reading' };
    this.shards.set(shardId, status);
    const resume = () =>
      committed
        ? this.iterator(shardId, 'AFTER_SEQUENCE_NUMBER', committed)
        : this.iterator(shardId, fromParent ? 'TRIM_HORIZON' : this.cfg.start_position);
    let iterator: string | undefined = await resume();
    let throttled = 0;
    let failedDeliveries = 0;
    while (iterator && !ctx.signal.aborted) {
      const started = Date.now();
      let res: GetRecordsCommandOutput;
      try {
        res = await this.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: this.cfg.batch_size }),
        );
        throttled = 0;
      } catch (e) {
        const name = (e as Error).name;
        if (THROTTLED.has(name)) {
          status.state = 'backing-off';
          await sleep(
            backoffDelay(++throttled, { baseMs: 500, maxMs: 20_000 }) + MIN_READ_GAP_MS,
            ctx.signal,
          );
          status.state = 'reading';
          continue;
        }
        if (name === 'ExpiredIteratorException') {
          iterator = await resume();
          continue;
        }
        throw e;
      }
      const records = res.Records ?? [];
      status.millis_behind = res.MillisBehindLatest;
      if (records.length > 0) {
        const result = await ctx.process(this.toBatch(shardId, records));
        const firstFailed = result.items.findIndex((r) => !isAcked(r));
        const lastGood = firstFailed === -1 ? records.length - 1 : firstFailed - 1;
        if (lastGood >= 0) {
          committed = records[lastGood]!.SequenceNumber!;
          await ctx.state.put<ShardCheckpoint>(key, { sequence: committed });
          status.sequence = committed;
        }
        if (firstFailed !== -1) {
          // Read again from the first record not delivered, after a pause: the sink is struggling.
          const delay = backoffDelay(++failedDeliveries, { baseMs: 1000, maxMs: 60_000 }) + 500;
          ctx.log.warn(
            { shard: shardId, retry_in_ms: delay },
            `${this.cfg.stream}/${shardId}: ${result.items[firstFailed]!.error ?? 'delivery failed'}; retrying`,
          );
          status.state = 'backing-off';
          await sleep(delay, ctx.signal);
          status.state = 'reading';
          iterator = await this.iterator(
            shardId,
            'AT_SEQUENCE_NUMBER',
            records[firstFailed]!.SequenceNumber!,
          );
          continue;
        }
        failedDeliveries = 0;
      }
      if (!res.NextShardIterator) {
        // The shard was closed by a reshard and has been read to its end.
        await ctx.state.put<ShardCheckpoint>(key, { sequence: committed, finished: true });
        status.state = 'finished';
        return;
      }
      iterator = res.NextShardIterator;
      const gap = records.length === 0 ? this.cfg.poll_interval : MIN_READ_GAP_MS;
      await sleep(gap - (Date.now() - started), ctx.signal);
    }
  }

  private toBatch(shardId: string, records: _Record[]): Batch {
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

export function create(cfg: KinesisSourceConfig): Source {
  return new KinesisSource(cfg);
}
