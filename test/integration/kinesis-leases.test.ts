import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Shard } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLostError, LeaseTable } from '../../src/sources/kinesis/lease-table.js';
import { LeaseCoordinator } from '../../src/sources/kinesis/leases.js';
import { type DynamoEmulator, startDynalite } from '../../src/testing/dynalite.js';

let db: DynamoEmulator;
let tables = 0;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

const DURATION = 10_000;
const shards = (n: number): Pick<Shard, 'ShardId'>[] =>
  Array.from({ length: n }, (_, i) => ({ ShardId: `shardId-00000000000${i}` }));

/** A fresh lease table (created by the first worker, as KCL does) and a worker factory on a shared fake clock. */
async function fresh() {
  const name = `app-${++tables}`;
  const clock = { now: 1_000_000 };
  const worker = (id: string) =>
    new LeaseCoordinator(new LeaseTable(db.client(), name), {
      workerId: id,
      leaseDurationMs: DURATION,
      now: () => clock.now,
    });
  await worker('setup').table.ensure();
  return { name, clock, worker };
}

async function row(table: string, shardId: string) {
  const out = await db
    .client()
    .send(new GetItemCommand({ TableName: table, Key: { leaseKey: { S: shardId } } }));
  return out.Item;
}

describe('lease coordinator against DynamoDB (dynalite)', () => {
  it('a lone worker takes every lease; a second one is handed one per cycle up to an even share', async () => {
    const { name, worker } = await fresh();
    const a = worker('a');
    const b = worker('b');
    await a.sync(shards(4), 'TRIM_HORIZON');
    expect((await a.take()).length).toBe(4);
    for (let round = 0; round < 2; round++) {
      // b asks; a learns it at its next renewal and, its unit stopped and committed, hands over.
      expect(await b.take()).toEqual([]);
      expect(await a.renew()).toEqual([]);
      const asked = a.holding().filter((h) => h.handoffTo === 'b');
      expect(asked).toHaveLength(1);
      await a.handOff(asked[0]!.shardId);
      expect((await row(name, asked[0]!.shardId))?.leaseOwner?.S).toBe('b');
      expect((await b.take()).map((l) => l.shardId)).toEqual([asked[0]!.shardId]);
    }
    expect(await b.take()).toEqual([]);
    expect(await a.renew()).toEqual([]);
    expect([a.holding().length, b.holding().length]).toEqual([2, 2]);
    expect(a.holding().some((h) => h.handoffTo)).toBe(false);
  });

  it('steals, as KCL does, a lease whose owner does not hand it over within lease_duration', async () => {
    const { name, worker, clock } = await fresh();
    const a = worker('a');
    const b = worker('b');
    await a.sync(shards(2), 'TRIM_HORIZON');
    await a.take();
    expect(await b.take()).toEqual([]);
    // a keeps renewing but never hands over (a KCL worker ignores the request).
    clock.now += DURATION + 1;
    await a.renew();
    const [stolen] = await b.take();
    expect(stolen).toBeDefined();
    expect((await row(name, stolen!.shardId))?.logferryHandoffTo).toBeUndefined();
    expect(await a.renew()).toEqual([stolen!.shardId]);
  });

  it('renewed leases are left alone; leases not renewed for lease_duration are taken over', async () => {
    const { worker, clock } = await fresh();
    const a = worker('a');
    const b = worker('b');
    await a.sync(shards(2), 'TRIM_HORIZON');
    await a.take();
    await b.take(); // asks for one
    await a.renew();
    await a.handOff(a.holding().find((h) => h.handoffTo)!.shardId);
    await b.take();
    expect(b.holding()).toHaveLength(1);
    // a keeps renewing: b's view of its counter moves, nothing expires.
    clock.now += DURATION - 1;
    await a.renew();
    await b.take();
    clock.now += DURATION - 1;
    await a.renew();
    expect(await b.take()).toEqual([]);
    // a stops renewing (killed): after lease_duration b takes its lease.
    await b.take();
    clock.now += DURATION + 1;
    expect((await b.take()).map((l) => l.shardId)).toEqual(a.holding().map((l) => l.shardId));
    expect(b.holding()).toHaveLength(2);
  });

  it('a checkpoint from a worker that lost its lease is refused and leaves the new owner’s row alone', async () => {
    const { name, worker, clock } = await fresh();
    const a = worker('a');
    const b = worker('b');
    await a.sync(shards(1), 'TRIM_HORIZON');
    await a.take();
    await a.checkpoint('shardId-000000000000', '100');
    await b.take(); // first sight of a's lease
    clock.now += DURATION + 1;
    expect(await b.take()).toHaveLength(1);
    await b.checkpoint('shardId-000000000000', '200');
    await expect(a.checkpoint('shardId-000000000000', '150')).rejects.toBeInstanceOf(LeaseLostError);
    expect(a.holds('shardId-000000000000')).toBe(false);
    const item = await row(name, 'shardId-000000000000');
    expect(item?.checkpoint?.S).toBe('200');
    expect(item?.leaseOwner?.S).toBe('b');
    expect(item?.ownerSwitchesSinceCheckpoint?.N).toBe('0');
  });

  it('a child shard is taken only once its parent reached SHARD_END', async () => {
    const { name, worker } = await fresh();
    const a = worker('a');
    const parent = 'shardId-000000000000';
    const child = { ShardId: 'shardId-000000000001', ParentShardId: parent };
    await a.sync([{ ShardId: parent }, child], 'LATEST');
    expect((await row(name, child.ShardId))?.parentShardId?.SS).toEqual([parent]);
    // A child starts at its beginning whatever the start position, the parent where configured.
    expect((await row(name, child.ShardId))?.checkpoint?.S).toBe('TRIM_HORIZON');
    expect((await row(name, parent))?.checkpoint?.S).toBe('LATEST');
    expect((await a.take()).map((l) => l.shardId)).toEqual([parent]);
    expect(await a.take()).toEqual([]);
    await a.finish(parent);
    expect((await row(name, parent))?.checkpoint?.S).toBe('SHARD_END');
    expect((await row(name, parent))?.leaseOwner).toBeUndefined();
    expect((await a.take()).map((l) => l.shardId)).toEqual([child.ShardId]);
  });

  it('honours a row written by a KCL worker: its live lease is left alone, then taken with its checkpoint', async () => {
    const { name, worker, clock } = await fresh();
    // Exactly what KCL 2.x's DynamoDBLeaseSerializer writes for a held lease.
    await db.client().send(
      new PutItemCommand({
        TableName: name,
        Item: {
          leaseKey: { S: 'shardId-000000000000' },
          leaseOwner: { S: 'kcl-host-1:5f3c1e2a-9b7d-4c11-8a43-0e6f2d9a7b10' },
          leaseCounter: { N: '412' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
          checkpoint: { S: '49590338271490256608559692538361571095921575989136588802' },
          checkpointSubSequenceNumber: { N: '0' },
        },
      }),
    );
    const a = worker('a');
    await a.sync(shards(1), 'TRIM_HORIZON');
    expect(await a.take()).toEqual([]);
    clock.now += DURATION + 1;
    const [won] = await a.take();
    expect(won).toMatchObject({
      shardId: 'shardId-000000000000',
      checkpoint: '49590338271490256608559692538361571095921575989136588802',
      counter: 413,
    });
    const item = await row(name, 'shardId-000000000000');
    expect(item?.leaseOwner?.S).toBe('a');
    expect(item?.ownerSwitchesSinceCheckpoint?.N).toBe('1');
  });

  it('seeds a new lease with the checkpoint the daemon kept before leases were turned on', async () => {
    const { name, worker } = await fresh();
    const before: Record<string, string> = {
      'shardId-000000000000': '49590338271490256608559692538361571095921575989136588802',
    };
    await worker('a').sync(shards(2), 'LATEST', async (id) => before[id]);
    expect((await row(name, 'shardId-000000000000'))?.checkpoint?.S).toBe(before['shardId-000000000000']);
    expect((await row(name, 'shardId-000000000001'))?.checkpoint?.S).toBe('LATEST');
  });

  it('stops counting on a lease it could not renew for lease_duration (the table unreachable)', async () => {
    const own = await startDynalite();
    const clock = { now: 0 };
    const a = new LeaseCoordinator(new LeaseTable(own.client(), 'app-outage'), {
      workerId: 'a',
      leaseDurationMs: DURATION,
      now: () => clock.now,
    });
    await a.table.ensure();
    await a.sync(shards(1), 'TRIM_HORIZON');
    await a.take();
    await own.stop();
    // A short outage: the lease is still ours, the renewal is tried again.
    expect(await a.renew()).toEqual([]);
    clock.now += DURATION + 1;
    // Others may have taken it by now: its shard must stop.
    expect(await a.renew()).toEqual(['shardId-000000000000']);
    expect(a.holds('shardId-000000000000')).toBe(false);
  });

  it('gives its leases up on shutdown, so another worker takes them without waiting', async () => {
    const { worker } = await fresh();
    const a = worker('a');
    const b = worker('b');
    await a.sync(shards(2), 'TRIM_HORIZON');
    await a.take();
    await a.releaseAll();
    expect((await b.take()).length).toBe(2);
  });
});
