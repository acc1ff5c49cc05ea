import {
  type AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SourceError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';

/*
 * The Kinesis Client Library's lease table, as KCL 1.x/2.x write it (awslabs/amazon-kinesis-client,
 * software/amazon/kinesis/leases/dynamodb/DynamoDBLeaseSerializer.java and
 * https://docs.aws.amazon.com/streams/latest/dev/shared-throughput-kcl-consumers.html#shared-throughput-kcl-consumers-leasetable):
 * hash key `leaseKey` (S) = the shard id; `leaseOwner` (S, absent when free); `leaseCounter` (N),
 * incremented by every write of the owner and the condition of every write; `checkpoint` (S) a
 * sequence number or TRIM_HORIZON / LATEST / SHARD_END; `checkpointSubSequenceNumber` (N);
 * `ownerSwitchesSinceCheckpoint` (N); `parentShardId` (SS). Other attributes KCL writes
 * (pendingCheckpoint, childShardId…) are left alone.
 *
 * One attribute is logferry's own, and KCL ignores it: `logferryHandoffTo` (S), a worker asking
 * the owner to hand the lease over once the shard's delivered records are committed, so that
 * balancing between logferry workers replays nothing (a steal replays what the old owner had
 * delivered but not committed).
 */
const KEY = 'leaseKey';
const HANDOFF = 'logferryHandoffTo';

export const SHARD_END = 'SHARD_END';
export type SpecialCheckpoint = 'TRIM_HORIZON' | 'LATEST' | 'SHARD_END' | 'AT_TIMESTAMP';

/** One row of the lease table. */
export interface Lease {
  shardId: string;
  owner: string | undefined;
  counter: number;
  checkpoint: string;
  subSequence: number;
  ownerSwitches: number;
  parents: string[];
  /** The worker that asked for this lease to be handed over to it. */
  handoffTo?: string;
}

/** We no longer hold the lease: another worker took it, or it was deleted. */
export class LeaseLostError extends SourceError {
  constructor(table: string, shardId: string, cause?: unknown) {
    super(`lease ${table}/${shardId} is no longer ours (another worker took it); stopping that shard`, {
      retryable: false,
      cause,
    });
  }
}

function leaseTableError(table: string, what: string, e: unknown): SourceError {
  return new SourceError(`lease table ${table}: cannot ${what} (${(e as Error).name})`, {
    retryable: true,
    cause: e,
  });
}

function isConditionFailure(e: unknown): boolean {
  return (e as Error).name === 'ConditionalCheckFailedException';
}

type Item = Record<string, AttributeValue>;

/** A row as the table holds it; a malformed row (no key, no counter) is skipped, not trusted. */
export function leaseFromItem(item: Item): Lease | undefined {
  const shardId = item[KEY]?.S;
  const counter = Number(item.leaseCounter?.N);
  if (!shardId || !Number.isSafeInteger(counter)) return undefined;
  return {
    shardId,
    owner: item.leaseOwner?.S || undefined,
    counter,
    checkpoint: item.checkpoint?.S ?? 'TRIM_HORIZON',
    subSequence: Number(item.checkpointSubSequenceNumber?.N ?? 0) || 0,
    ownerSwitches: Number(item.ownerSwitchesSinceCheckpoint?.N ?? 0) || 0,
    parents: item.parentShardId?.SS ?? [],
    ...(item[HANDOFF]?.S ? { handoffTo: item[HANDOFF].S } : {}),
  };
}

/**
 * Reads and writes leases. Every write of a held lease is conditional on our owner name and the
 * counter we last wrote, and bumps the counter, as KCL does: a worker that lost a lease finds out on
 * its next write instead of overwriting the new owner's checkpoint.
 */
export class LeaseTable {
  constructor(
    private readonly client: DynamoDBClient,
    readonly name: string,
  ) {}

  /** Creates the table as KCL does (on-demand, `leaseKey` hash key) when it is missing. */
  async ensure(signal?: AbortSignal): Promise<void> {
    try {
      const t = await this.client.send(new DescribeTableCommand({ TableName: this.name }));
      if (t.Table?.TableStatus === 'ACTIVE') return;
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException')
        throw leaseTableError(this.name, 'describe it', e);
      await this.create();
    }
    while (!signal?.aborted) {
      const t = await this.client.send(new DescribeTableCommand({ TableName: this.name }));
      if (t.Table?.TableStatus === 'ACTIVE') return;
      await sleep(200, signal);
    }
  }

  private async create(): Promise<void> {
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.name,
          KeySchema: [{ AttributeName: KEY, KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: KEY, AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (e) {
      // Another worker created it at the same moment.
      if ((e as Error).name !== 'ResourceInUseException') throw leaseTableError(this.name, 'create it', e);
    }
  }

  async list(): Promise<Lease[]> {
    const out: Lease[] = [];
    let start: Item | undefined;
    try {
      do {
        const res = await this.client.send(
          new ScanCommand({ TableName: this.name, ConsistentRead: true, ExclusiveStartKey: start }),
        );
        for (const item of res.Items ?? []) {
          const lease = leaseFromItem(item);
          if (lease) out.push(lease);
        }
        start = res.LastEvaluatedKey;
      } while (start);
    } catch (e) {
      throw leaseTableError(this.name, 'scan it', e);
    }
    return out;
  }

  /** Adds a free lease for a shard that has none; false when one already exists. */
  async add(shardId: string, checkpoint: SpecialCheckpoint | string, parents: string[]): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.name,
          Item: {
            [KEY]: { S: shardId },
            leaseCounter: { N: '0' },
            checkpoint: { S: checkpoint },
            checkpointSubSequenceNumber: { N: '0' },
            ownerSwitchesSinceCheckpoint: { N: '0' },
            ...(parents.length > 0 ? { parentShardId: { SS: parents } } : {}),
          },
          ConditionExpression: 'attribute_not_exists(#k)',
          ExpressionAttributeNames: { '#k': KEY },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw leaseTableError(this.name, `add a lease for ${shardId}`, e);
    }
  }

  /**
   * Takes a lease (free, expired or stolen) as seen at `seen.counter`; the new counter on success,
   * undefined when someone wrote it since.
   */
  async take(seen: Lease, owner: string): Promise<number | undefined> {
    const switched = seen.owner !== undefined && seen.owner !== owner;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.name,
          Key: { [KEY]: { S: seen.shardId } },
          UpdateExpression: `SET leaseOwner = :me, leaseCounter = :next${switched ? ' ADD ownerSwitchesSinceCheckpoint :one' : ''} REMOVE ${HANDOFF}`,
          ConditionExpression: 'leaseCounter = :seen',
          ExpressionAttributeValues: {
            ':me': { S: owner },
            ':next': { N: String(seen.counter + 1) },
            ':seen': { N: String(seen.counter) },
            ...(switched ? { ':one': { N: '1' } } : {}),
          },
        }),
      );
      return seen.counter + 1;
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw leaseTableError(this.name, `take ${seen.shardId}`, e);
    }
  }

  /**
   * Asks the owner of a lease (seen at `seen.counter`) to hand it over; the counter is left alone, so
   * the owner's next write still succeeds. False when the lease changed since.
   */
  async askHandoff(seen: Lease, to: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.name,
          Key: { [KEY]: { S: seen.shardId } },
          UpdateExpression: `SET ${HANDOFF} = :to`,
          ConditionExpression: 'leaseCounter = :seen AND leaseOwner = :owner',
          ExpressionAttributeValues: {
            ':to': { S: to },
            ':seen': { N: String(seen.counter) },
            ':owner': { S: seen.owner ?? '' },
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw leaseTableError(this.name, `ask for ${seen.shardId}`, e);
    }
  }

  /** Bumps the counter of a lease we hold at `counter`: the heartbeat other workers watch. */
  renew(shardId: string, owner: string, counter: number): Promise<Written> {
    return this.ownedUpdate(shardId, owner, counter, 'renew', 'SET leaseCounter = :next', {});
  }

  /** Writes a checkpoint to a lease we hold (KCL resets ownerSwitchesSinceCheckpoint here too). */
  checkpoint(shardId: string, owner: string, counter: number, checkpoint: string): Promise<Written> {
    return this.ownedUpdate(
      shardId,
      owner,
      counter,
      'checkpoint',
      'SET leaseCounter = :next, checkpoint = :cp, checkpointSubSequenceNumber = :zero, ownerSwitchesSinceCheckpoint = :zero',
      { ':cp': { S: checkpoint }, ':zero': { N: '0' } },
    );
  }

  /** Gives a lease up (on shutdown, or once its shard ended) so another worker takes it at once. */
  release(shardId: string, owner: string, counter: number): Promise<Written> {
    return this.ownedUpdate(
      shardId,
      owner,
      counter,
      'release',
      `SET leaseCounter = :next REMOVE leaseOwner, ${HANDOFF}`,
      {},
    );
  }

  /** Makes `to` the owner of a lease we hold, everything we delivered from it being committed. */
  handOff(shardId: string, owner: string, counter: number, to: string): Promise<Written> {
    return this.ownedUpdate(
      shardId,
      owner,
      counter,
      'hand over',
      `SET leaseCounter = :next, leaseOwner = :to ADD ownerSwitchesSinceCheckpoint :one REMOVE ${HANDOFF}`,
      { ':to': { S: to }, ':one': { N: '1' } },
    );
  }

  private async ownedUpdate(
    shardId: string,
    owner: string,
    counter: number,
    what: string,
    update: string,
    values: Item,
  ): Promise<Written> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.name,
          Key: { [KEY]: { S: shardId } },
          UpdateExpression: update,
          ConditionExpression: 'leaseOwner = :me AND leaseCounter = :held',
          ExpressionAttributeValues: {
            ':me': { S: owner },
            ':held': { N: String(counter) },
            ':next': { N: String(counter + 1) },
            ...values,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { counter: counter + 1, handoffTo: out.Attributes?.[HANDOFF]?.S };
    } catch (e) {
      if (isConditionFailure(e)) throw new LeaseLostError(this.name, shardId, e);
      throw leaseTableError(this.name, `${what} ${shardId}`, e);
    }
  }
}

/** A held lease after one of our writes: its new counter, and who asked for it, if anyone. */
export interface Written {
  counter: number;
  handoffTo: string | undefined;
}
