/**
 * Exactly-once at scale (issue #13 item 6): a daemon follows a live Kinesis stream (kinesis-local)
 * into daily files while it is SIGKILLed again and again and the stream is resharded; at the end
 * every event must be in the files exactly once.
 *
 *   npm run soak -- [--events 1000000] [--kills 20] [--per-record 200] [--mode live|backlog]
 *
 * `live`: a producer writes the stream while the daemon runs and is killed; a shard is split half-way.
 * `backlog`: the stream is filled first, then the daemon is killed while it catches up.
 * Prints one JSON line (events, delivered lines, lost, duplicated, biggest day file, wall time) and
 * exits 1 when anything was lost or duplicated. Too long for `npm test` (minutes at 1 M events);
 * the kill tests in test/integration/kinesis-daemon.test.ts run the same paths small.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { eventId } from '../src/core/ids.js';
import { gzipJson, rng, subscriptionMessage } from '../src/demo/cwlogs.js';
import { type KinesisEmulator, startKinesisEmulator } from '../src/testing/kinesis-emulator.js';

const ROOT = join(import.meta.dirname, '..');
const STREAM = 'soak';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    kills: { type: 'string', default: '20' },
    'per-record': { type: 'string', default: '200' },
    mode: { type: 'string', default: 'live' },
    keep: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(opts.events);
const KILLS = Number(opts.kills);
const PER_RECORD = Number(opts['per-record']);
const RECORDS = Math.ceil(EVENTS / PER_RECORD);
const r = rng(11);
const expected = new Set<string>();
let daemonLog = '';
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function main(): Promise<void> {
  const started = Date.now();
  const k = await startKinesisEmulator();
  const dir = await mkdtemp(join(tmpdir(), 'logferry-soak-'));
  let child: ChildProcess | undefined;
  try {
    await createStream(k);
    await writeFile(join(dir, 'config.yaml'), config(k, dir));
    const result =
      opts.mode === 'backlog'
        ? await backlog(k, dir, (c) => (child = c))
        : await live(k, dir, (c) => (child = c));
    const check = await checkFiles(join(dir, 'logs'));
    // The producer's SDK may retry a PutRecords the emulator had already stored (under load):
    // such records are in the stream twice, as far apart as the retry, and count apart.
    const inStream = await streamCopies(k);
    const line = {
      soak: 'kinesis',
      mode: opts.mode,
      events: expected.size,
      kills: result.kills,
      resharded: result.resharded,
      lines: check.lines,
      lost: check.lost,
      duplicated: check.duplicated,
      in_stream_twice: inStream,
      biggest_day_file_mb: Math.round(check.biggest / 2 ** 20),
      wall_s: Math.round((Date.now() - started) / 1000),
    };
    console.log(JSON.stringify(line));
    if (check.lost || check.duplicated > inStream) {
      console.error(`daemon said: ${daemonLog}`);
      process.exitCode = 1;
    }
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await k.stop();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

async function createStream(k: KinesisEmulator): Promise<void> {
  await k.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 2 }));
  await waitActive(k);
}

async function waitActive(k: KinesisEmulator): Promise<void> {
  for (;;) {
    const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await sleep(100);
  }
}

function config(k: KinesisEmulator, dir: string): string {
  return `state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dead-letter')} }
sources:
  - name: central
    type: kinesis
    stream: ${STREAM}
    parser: cloudwatch_logs
    poll_interval: 200ms
    shard_refresh: 1s
    aws:
      region: ${k.region}
      endpoint: ${k.endpoint}
      credentials: { access_key_id: ${k.credentials.accessKeyId}, secret_access_key: ${k.credentials.secretAccessKey} }
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, 'logs')}
    retention_days: 0
`;
}

/** Writes `count` records from record number `from`; every event's id goes into `expected`. */
async function put(k: KinesisEmulator, from: number, count: number): Promise<void> {
  const entries = [];
  for (let i = from; i < from + count; i++) {
    const msg = subscriptionMessage({
      kind: i % 2 ? 'vpc' : 'app',
      count: PER_RECORD,
      // Two days of data, so the run crosses midnight in the day files.
      start: Date.UTC(2026, 10, 24, 12) + Math.floor((i / RECORDS) * 36 * 3600_000),
      r,
    });
    for (const le of msg.logEvents)
      expected.add(eventId('aws.cloudwatch_logs', [msg.owner, msg.logGroup, msg.logStream, le.id]));
    entries.push({ Data: gzipJson(msg), PartitionKey: `pk-${Math.floor(r() * 1e9)}` });
  }
  for (let i = 0; i < entries.length; i += 100) {
    const res = await k.client.send(
      new PutRecordsCommand({ StreamName: STREAM, Records: entries.slice(i, i + 100) }),
    );
    if (res.FailedRecordCount) throw new Error(`${res.FailedRecordCount} records refused by the emulator`);
  }
}

function startDaemon(dir: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/logferry.mjs'), 'run', '--config', join(dir, 'config.yaml'), '--status', 'off'],
    {
      cwd: dir,
      env: { ...process.env, LOGFERRY_FROM_SOURCE: '1', LOGFERRY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (d: Buffer) => {
    daemonLog = (daemonLog + d.toString()).slice(-6000);
    // Every daemon's warnings and errors, whole, beside the day files (kept with --keep).
    appendFileSync(join(dir, 'daemons.log'), d);
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((res) => child.once('exit', () => res()));
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

/** Producer and killer run together: records arrive while the daemon is killed and restarted. */
async function live(k: KinesisEmulator, dir: string, track: (c: ChildProcess) => void) {
  let resharded = false;
  let written = 0;
  const chunk = Math.max(1, Math.ceil(RECORDS / (KILLS * 4 + 8)));
  const producer = (async () => {
    while (written < RECORDS) {
      const n = Math.min(chunk, RECORDS - written);
      await put(k, written, n);
      written += n;
      if (!resharded && written >= RECORDS / 2) {
        await split(k);
        resharded = true;
      }
      await sleep(150);
    }
  })();
  const kills = await killRepeatedly(dir, track);
  await producer;
  await finish(dir, track);
  return { kills, resharded };
}

/** The stream is full first; the daemon is killed while it catches up. */
async function backlog(k: KinesisEmulator, dir: string, track: (c: ChildProcess) => void) {
  for (let i = 0; i < RECORDS; i += 500) await put(k, i, Math.min(500, RECORDS - i));
  const kills = await killRepeatedly(dir, track);
  await finish(dir, track);
  return { kills, resharded: false };
}

/**
 * Starts the daemon and SIGKILLs it once it has written something new (at a random moment after
 * that, so kills land mid-write as well as between reads), KILLS times.
 */
async function killRepeatedly(dir: string, track: (c: ChildProcess) => void): Promise<number> {
  const root = join(dir, 'logs');
  let kills = 0;
  for (; kills < KILLS; kills++) {
    if ((await countLines(root)) >= expected.size && expected.size >= EVENTS) break;
    const before = await totalBytes(root);
    const child = startDaemon(dir);
    track(child);
    while ((await totalBytes(root)) <= before && child.exitCode === null) await sleep(100);
    await sleep(r() * 2000);
    await kill(child);
  }
  return kills;
}

async function split(k: KinesisEmulator): Promise<void> {
  const shards = (await k.client.send(new ListShardsCommand({ StreamName: STREAM }))).Shards ?? [];
  const s0 = shards.find((s) => s.ShardId === 'shardId-000000000000');
  if (!s0?.HashKeyRange?.StartingHashKey || !s0.HashKeyRange.EndingHashKey)
    throw new Error('no shard 0 to split');
  const mid = (BigInt(s0.HashKeyRange.StartingHashKey) + BigInt(s0.HashKeyRange.EndingHashKey)) / 2n;
  await k.client.send(
    new SplitShardCommand({
      StreamName: STREAM,
      ShardToSplit: s0.ShardId,
      NewStartingHashKey: mid.toString(),
    }),
  );
  await waitActive(k);
}

/** A last daemon runs until the files hold every event (counted by lines), then stops cleanly. */
async function finish(dir: string, track: (c: ChildProcess) => void): Promise<void> {
  const child = startDaemon(dir);
  track(child);
  const deadline = Date.now() + 30 * 60_000;
  while ((await countLines(join(dir, 'logs'))) < expected.size) {
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${daemonLog}`);
    if (Date.now() > deadline) throw new Error(`timed out; daemon said: ${daemonLog}`);
    await sleep(2000);
  }
  await sleep(3000);
  child.kill('SIGTERM');
  await exited(child);
}

/** Events the stream itself holds more than once (extra copies), read back from every shard. */
async function streamCopies(k: KinesisEmulator): Promise<number> {
  const counts = new Map<string, number>();
  const shards = (await k.client.send(new ListShardsCommand({ StreamName: STREAM }))).Shards ?? [];
  for (const shard of shards) {
    let iterator = (
      await k.client.send(
        new GetShardIteratorCommand({
          StreamName: STREAM,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const res = await k.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      for (const r of res.Records ?? []) {
        const msg = JSON.parse(gunzipSync(r.Data!).toString()) as {
          owner: string;
          logGroup: string;
          logStream: string;
          logEvents: { id: string }[];
        };
        for (const le of msg.logEvents) {
          const id = eventId('aws.cloudwatch_logs', [msg.owner, msg.logGroup, msg.logStream, le.id]);
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
      if (!res.Records?.length && !res.MillisBehindLatest) break;
      iterator = res.NextShardIterator;
    }
  }
  let extra = 0;
  for (const n of counts.values()) extra += n - 1;
  return extra;
}

async function dayFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const folder of await readdir(root).catch(() => [] as string[]))
    for (const f of await readdir(join(root, folder))) out.push(join(root, folder, f));
  return out;
}

async function totalBytes(root: string): Promise<number> {
  let n = 0;
  for (const file of await dayFiles(root)) n += (await stat(file)).size;
  return n;
}

async function countLines(root: string): Promise<number> {
  let n = 0;
  for (const file of await dayFiles(root)) {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
    }
  }
  return n;
}

/**
 * Counts lines, lost and duplicated events. For duplicates it also says how far (bytes) the second
 * copy is from the first: past the sink's replay-guard window, or close by (something else).
 */
async function checkFiles(root: string) {
  const seen = new Map<string, number>();
  let lines = 0;
  let duplicated = 0;
  let biggest = 0;
  const distances: number[] = [];
  for (const [f, file] of (await dayFiles(root)).entries()) {
    biggest = Math.max(biggest, (await stat(file)).size);
    // Offsets are per file; files are told apart by a high multiplier.
    let offset = f * 2 ** 40;
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      const at = offset;
      offset += Buffer.byteLength(line) + 1;
      if (!line) continue;
      lines++;
      const id = (JSON.parse(line) as { event: { id: string } }).event.id;
      const first = seen.get(id);
      if (first === undefined) seen.set(id, at);
      else {
        duplicated++;
        distances.push(at - first);
      }
    }
  }
  let lost = 0;
  for (const id of expected) if (!seen.has(id)) lost++;
  if (distances.length) {
    distances.sort((a, b) => a - b);
    const mb = (n: number) => Math.round(n / 2 ** 20);
    console.error(
      `duplicates: second copy ${mb(distances[0]!)}–${mb(distances.at(-1)!)} MiB after the first (median ${mb(distances[distances.length >> 1]!)})`,
    );
  }
  return { lines, lost, duplicated, biggest };
}

await main();
