import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventId } from '../../src/core/ids.js';
import { gzipJson, rng, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { dailyFileIds } from '../../src/testing/daily-files.js';
import { type KinesisEmulator, startKinesisEmulator } from '../../src/testing/kinesis-emulator.js';

const ROOT = join(import.meta.dirname, '../..');
const STREAM = 'central-logging';

let k: KinesisEmulator;
let dir: string;
const expected = new Set<string>();
const r = rng(7);

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${what}; daemon said: ${daemonLog}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function putRecords(
  count: number,
  eventsPerRecord: number,
  start: number,
  stream = STREAM,
  ids = expected,
): Promise<void> {
  const entries = [];
  for (let i = 0; i < count; i++) {
    const msg = subscriptionMessage({
      kind: i % 2 ? 'vpc' : 'app',
      count: eventsPerRecord,
      start: start + i * 1000,
      r,
    });
    for (const le of msg.logEvents) {
      ids.add(eventId('aws.cloudwatch_logs', [msg.owner, msg.logGroup, msg.logStream, le.id]));
    }
    entries.push({ Data: gzipJson(msg), PartitionKey: `pk-${Math.floor(r() * 1e9)}` });
  }
  for (let i = 0; i < entries.length; i += 100) {
    const res = await k.client.send(
      new PutRecordsCommand({ StreamName: stream, Records: entries.slice(i, i + 100) }),
    );
    expect(res.FailedRecordCount ?? 0).toBe(0);
  }
}

/** Every complete line of every daily file, as event ids. */
function deliveredIds(folder = 'logs'): Promise<string[]> {
  return dailyFileIds(join(dir, folder));
}

/** What the daemons printed, to explain a failure. */
let daemonLog = '';
/** Every daemon started, so a failed test leaves none running. */
const children: ChildProcess[] = [];

function startDaemon(config = 'config.yaml'): ChildProcess {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/logferry.mjs'), 'run', '--config', join(dir, config), '--status', 'off'],
    {
      cwd: dir,
      env: { ...process.env, LOGFERRY_FROM_SOURCE: '1', LOGFERRY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  child.stderr?.on('data', (d: Buffer) => {
    daemonLog = (daemonLog + d.toString()).slice(-6000);
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((res) => child.once('exit', (c) => res(c)));
}

beforeAll(async () => {
  k = await startKinesisEmulator();
  dir = await mkdtemp(join(tmpdir(), 'logferry-kinesis-'));
  await k.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 3 }));
  await waitFor('stream to be active', async () => {
    const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    return s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
  });
  await writeFile(join(dir, 'config.yaml'), daemonConfig(STREAM, 'logs', 'batch_size: 4'));
}, 60_000);

/** `workers`: the daemon's decode workers (0 = decode in the main thread), so both paths face the kills. */
function daemonConfig(stream: string, logs: string, extra: string, sinkExtra = '', workers = 2): string {
  return `daemon: { workers: ${workers} }
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dead-letter')} }
delivery: { chunk_events: 100 }
sources:
  - name: central
    type: kinesis
    stream: ${stream}
    parser: cloudwatch_logs
    ${extra}
    poll_interval: 100ms
    shard_refresh: 300ms
    aws:
      region: ${k.region}
      endpoint: ${k.endpoint}
      credentials: { access_key_id: ${k.credentials.accessKeyId}, secret_access_key: ${k.credentials.secretAccessKey} }
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, logs)}
    retention_days: 0
    ${sinkExtra}
`;
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await k?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Kinesis daemon consumer', () => {
  it('delivers every event exactly once across kills, restarts and a shard split', async () => {
    await putRecords(90, 40, Date.UTC(2026, 10, 24, 23, 50));

    // Kill the daemon hard, twice, while it is part-way through the stream.
    for (let round = 0; round < 2; round++) {
      const child = startDaemon();
      const before = (await deliveredIds()).length;
      await waitFor('some progress', async () => ((await deliveredIds()).length > before ? true : undefined));
      child.kill('SIGKILL');
      await exited(child);
    }
    const partial = new Set(await deliveredIds());
    expect(partial.size).toBeGreaterThan(0);
    expect(partial.size).toBeLessThan(expected.size);

    // Reshard: split shard 0; new records land in the children, which must wait for the parent.
    const shards = (await k.client.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const s0 = shards.find((s) => s.ShardId === 'shardId-000000000000')!;
    const mid = (BigInt(s0.HashKeyRange!.StartingHashKey!) + BigInt(s0.HashKeyRange!.EndingHashKey!)) / 2n;
    await k.client.send(
      new SplitShardCommand({
        StreamName: STREAM,
        ShardToSplit: s0.ShardId!,
        NewStartingHashKey: mid.toString(),
      }),
    );
    await waitFor('split to finish', async () => {
      const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
      return s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
    });
    await putRecords(30, 40, Date.UTC(2026, 10, 25, 0, 10));

    const child = startDaemon();
    await waitFor(
      'every event',
      async () => ((await deliveredIds()).length >= expected.size ? true : undefined),
      90_000,
    );
    // Let it idle a moment: nothing more may arrive.
    await new Promise((res) => setTimeout(res, 1000));
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);

    const ids = await deliveredIds();
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const dupes = [...counts].filter(([, n]) => n > 1);
    expect(dupes).toEqual([]);
    expect(new Set(ids)).toEqual(expected);
    // The events straddle midnight UTC: two day files.
    expect((await readdir(join(dir, 'logs', 'aws.cloudwatch_logs'))).sort()).toEqual([
      'aws.cloudwatch_logs-2026-11-24.jsonl',
      'aws.cloudwatch_logs-2026-11-25.jsonl',
    ]);
    // The split parent was read to its end and marked finished.
    const cp = JSON.parse(
      await readFile(
        join(dir, 'state', `${encodeURIComponent(`kinesis/${STREAM}/shardId-000000000000`)}.json`),
        'utf8',
      ),
    );
    expect(cp.finished).toBe(true);
  });
});

describe('Kinesis daemon catching up on a full stream', () => {
  it('commits part-way through a large read, so kills mid-write leave no duplicate past the replay guard', async () => {
    const stream = 'backlog';
    await k.client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await waitFor('backlog stream to be active', async () => {
      const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      return s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
    });
    const want = new Set<string>();
    // The stream is full before the daemon starts: one read (batch_size) holds all of it.
    await putRecords(300, 40, Date.UTC(2026, 10, 26, 8, 0), stream, want);
    // A replay guard far smaller than one read's output (12,000 events), but larger than what
    // commit_every (5 records, 200 events) lets a kill replay.
    await writeFile(
      join(dir, 'backlog.yaml'),
      daemonConfig(
        stream,
        'logs-backlog',
        'batch_size: 1000\n    commit_every: { records: 5 }',
        'dedup_scan_bytes: 262144',
        0,
      ),
    );
    for (let round = 0; round < 2; round++) {
      const child = startDaemon('backlog.yaml');
      const before = (await deliveredIds('logs-backlog')).length;
      await waitFor('some progress', async () =>
        (await deliveredIds('logs-backlog')).length > before + 1000 ? true : undefined,
      );
      child.kill('SIGKILL');
      await exited(child);
    }
    expect(new Set(await deliveredIds('logs-backlog')).size).toBeLessThan(want.size);
    const child = startDaemon('backlog.yaml');
    await waitFor(
      'every event',
      async () => (new Set(await deliveredIds('logs-backlog')).size >= want.size ? true : undefined),
      120_000,
    );
    await new Promise((res) => setTimeout(res, 1000));
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    const ids = await deliveredIds('logs-backlog');
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect(new Set(ids)).toEqual(want);
  }, 240_000);
});
