import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../../src/core/ids.js';
import { gzipJson, rng, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { dailyFileIds } from '../../src/testing/daily-files.js';
import { type DynamoEmulator, startDynalite } from '../../src/testing/dynalite.js';
import { type KinesisEmulator, startKinesisEmulator } from '../../src/testing/kinesis-emulator.js';

const ROOT = join(import.meta.dirname, '../..');
const STREAM = 'shared-logs';
const TABLE = 'logferry-shared-logs';
const SHARDS = 4;
const EVENTS_PER_RECORD = 10;
const COMMIT_RECORDS = 2;
const FOREIGN = 'kcl-host-1:5f3c1e2a-9b7d-4c11-8a43-0e6f2d9a7b10';

let k: KinesisEmulator;
let db: DynamoEmulator;
let dir: string;
const r = rng(11);
let daemonLog = '';
const children: ChildProcess[] = [];

interface Put {
  shard: string;
  sequence: string;
  ids: string[];
}

async function waitFor(what: string, f: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const start = Date.now();
  while (!(await f())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${what}; daemons said: ${daemonLog}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Puts `count` CloudWatch Logs subscription records; says where each landed and its event ids. */
async function putRecords(count: number, start: number): Promise<Put[]> {
  const out: Put[] = [];
  for (let i = 0; i < count; i += 100) {
    const msgs = Array.from({ length: Math.min(100, count - i) }, (_, j) =>
      subscriptionMessage({
        kind: j % 2 ? 'vpc' : 'app',
        count: EVENTS_PER_RECORD,
        start: start + (i + j) * 1000,
        r,
      }),
    );
    const res = await k.client.send(
      new PutRecordsCommand({
        StreamName: STREAM,
        Records: msgs.map((m) => ({ Data: gzipJson(m), PartitionKey: `pk-${Math.floor(r() * 1e9)}` })),
      }),
    );
    expect(res.FailedRecordCount ?? 0).toBe(0);
    res.Records!.forEach((rec, j) => {
      const m = msgs[j]!;
      const ids = m.logEvents.map((le) =>
        eventId('aws.cloudwatch_logs', [m.owner, m.logGroup, m.logStream, le.id]),
      );
      out.push({ shard: rec.ShardId!, sequence: rec.SequenceNumber!, ids });
    });
  }
  return out;
}

function config(worker: string): string {
  const aws = (endpoint: string) =>
    `{ region: us-east-1, endpoint: ${endpoint}, credentials: { access_key_id: local, secret_access_key: local-secret } }`;
  return `state: { type: file, path: ${join(dir, `state-${worker}`)} }
dead_letter: { type: file, path: ${join(dir, `dead-letter-${worker}`)} }
delivery: { chunk_events: 100 }
sources:
  - name: shared
    type: kinesis
    stream: ${STREAM}
    parser: cloudwatch_logs
    batch_size: 10
    commit_every: { records: ${COMMIT_RECORDS} }
    poll_interval: 100ms
    shard_refresh: 1s
    aws: ${aws(k.endpoint)}
    leases:
      table: ${TABLE}
      worker_id: ${worker}
      lease_duration: 4s
      renew_interval: 500ms
      take_interval: 1s
      aws: ${aws(db.endpoint)}
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, `logs-${worker}`)}
    retention_days: 0
`;
}

async function startDaemon(worker: string): Promise<ChildProcess> {
  await writeFile(join(dir, `${worker}.yaml`), config(worker));
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/logferry.mjs'), 'run', '--config', join(dir, `${worker}.yaml`), '--status', 'off'],
    {
      cwd: dir,
      env: { ...process.env, LOGFERRY_FROM_SOURCE: '1', LOGFERRY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  child.stderr?.on('data', (d: Buffer) => {
    daemonLog = (daemonLog + `[${worker}] ${d.toString()}`).slice(-8000);
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((res) => child.once('exit', (c) => res(c)));
}

const delivered = (worker: string) => dailyFileIds(join(dir, `logs-${worker}`));

/** Owner of each shard's lease as the table says now. */
async function owners(): Promise<Map<string, string | undefined>> {
  const res = await db.client().send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }));
  return new Map((res.Items ?? []).map((i) => [i.leaseKey!.S!, i.leaseOwner?.S]));
}

beforeAll(async () => {
  [k, db] = await Promise.all([startKinesisEmulator(), startDynalite()]);
  dir = await mkdtemp(join(tmpdir(), 'logferry-leases-'));
  await k.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: SHARDS }));
  await waitFor('stream to be active', async () => {
    const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    return s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  });
  // The table as KCL creates it.
  await db.createTable({
    TableName: TABLE,
    KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([k?.stop(), db?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('several daemons on one stream through a KCL lease table', () => {
  it('deliver every event once across a SIGKILL and a worker added mid-stream, and spread the leases', async () => {
    const first = await putRecords(240, Date.UTC(2026, 10, 30, 8, 0));
    // A KCL consumer of the same application already read the start of the last shard: its row, in
    // KCL's exact shape, says where logferry must resume (and its owner stops renewing).
    const foreignShard = `shardId-00000000000${SHARDS - 1}`;
    const inForeign = first.filter((p) => p.shard === foreignShard);
    const foreignDone = inForeign.slice(0, 5);
    await db.client().send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          leaseKey: { S: foreignShard },
          leaseOwner: { S: FOREIGN },
          leaseCounter: { N: '7' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
          checkpoint: { S: foreignDone.at(-1)!.sequence },
          checkpointSubSequenceNumber: { N: '0' },
        },
      }),
    );
    const skipped = new Set(foreignDone.flatMap((p) => p.ids));
    const expected = new Set(first.flatMap((p) => p.ids).filter((id) => !skipped.has(id)));

    const a = await startDaemon('a');
    const b = await startDaemon('b');
    await waitFor('a and b both reading', async () => {
      const o = [...(await owners()).values()];
      return o.includes('a') && o.includes('b') && (await delivered('a')).length > 0;
    });
    a.kill('SIGKILL');
    await exited(a);
    const fromA = new Set(await delivered('a'));
    expect(fromA.size).toBeLessThan(expected.size);

    const c = await startDaemon('c');
    const second = await putRecords(120, Date.UTC(2026, 10, 30, 9, 0));
    for (const id of second.flatMap((p) => p.ids)) expected.add(id);

    await waitFor(
      'every event delivered',
      async () => {
        const all = new Set([...fromA, ...(await delivered('b')), ...(await delivered('c'))]);
        return [...expected].every((id) => all.has(id));
      },
      90_000,
    );
    await waitFor('the leases spread over b and c', async () => {
      const o = [...(await owners()).values()];
      return o.filter((w) => w === 'b').length === 2 && o.filter((w) => w === 'c').length === 2;
    });
    // Idle a moment: nothing more may arrive.
    await new Promise((res) => setTimeout(res, 1000));
    const leaseOwners = await owners();
    b.kill('SIGTERM');
    c.kill('SIGTERM');
    expect(await exited(b)).toBe(0);
    expect(await exited(c)).toBe(0);

    const byWorker = { a: await delivered('a'), b: await delivered('b'), c: await delivered('c') };
    // The day files' replay guard keeps each worker's files free of duplicates.
    for (const ids of Object.values(byWorker)) expect(ids.length).toBe(new Set(ids).size);
    const inB = new Set(byWorker.b);
    // Between live workers a lease is handed over after its commit: nothing is read twice.
    expect(byWorker.c.filter((id) => inB.has(id))).toEqual([]);
    // Only what the killed worker delivered but had not committed is read again elsewhere: at most
    // one commit_every slice per shard it held.
    const again = byWorker.a.filter((id) => inB.has(id) || byWorker.c.includes(id));
    expect(again.length).toBeLessThanOrEqual(SHARDS * COMMIT_RECORDS * EVENTS_PER_RECORD);
    const union = new Set([...byWorker.a, ...byWorker.b, ...byWorker.c]);
    // Every event, and none of what the KCL consumer had checkpointed.
    expect(union).toEqual(expected);
    expect([...leaseOwners.keys()].sort()).toEqual(
      Array.from({ length: SHARDS }, (_, i) => `shardId-00000000000${i}`),
    );
  }, 240_000);
});
