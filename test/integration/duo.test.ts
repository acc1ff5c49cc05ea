/**
 * The Duo collector against real peers: checkpoints in S3 (s3rver) and DynamoDB (dynalite), the
 * scheduled Lambda handler configured only by the old Go Lambda's DUOPULL_* variables, writing to
 * kinesis-mock. The Kinesis sink's own tests and conformance run are in kinesis-sink.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { StateError } from '../../src/core/errors.js';
import { makeEvents } from '../../src/demo/duo-events.js';
import { FakeDuo } from '../../src/demo/duo-fake.js';
import { resetLambdaApp } from '../../src/runtimes/lambda/bootstrap.js';
import { handler, resetDuoSource } from '../../src/runtimes/lambda/duo.js';
import { DynamodbStateStore } from '../../src/state/dynamodb/index.js';
import { S3StateStore } from '../../src/state/s3/index.js';
import { type DynamoEmulator, startDynalite } from '../../src/testing/dynalite.js';
import { type KinesisEmulator, startKinesisEmulator } from '../../src/testing/kinesis-emulator.js';
import {
  createStream as createKinesisStream,
  readJsonRecords,
  readRecords as readKinesisRecords,
} from '../../src/testing/kinesis-streams.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';

const region = 'us-east-1';

let dir: string;
let s3emu: S3Emulator;
let s3Endpoint: string;
let s3: S3Client;
let dynamo: DynamoEmulator;
let ddb: DynamoDBClient;
let kinesis: KinesisEmulator;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duo-int-'));
  s3emu = await startS3();
  s3Endpoint = s3emu.endpoint;
  s3 = s3emu.client;
  await s3emu.createBucket('duo-state');

  dynamo = await startDynalite();
  ddb = dynamo.client();
  await dynamo.createTable({
    TableName: 'logferry-state',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });

  kinesis = await startKinesisEmulator();
});

afterAll(async () => {
  await kinesis?.stop();
  await s3emu?.stop();
  await dynamo?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('checkpoint stores', () => {
  it('S3: round-trips, and refuses to overwrite a checkpoint someone else changed', async () => {
    const a = new S3StateStore(s3, 'duo-state', 'a/');
    const b = new S3StateStore(s3, 'duo-state', 'a/');
    expect(await a.get('duo/duo/authentication')).toBeUndefined();
    await a.put('duo/duo/authentication', { v: 1, ts: 1, seen: ['x'] });
    expect(await b.get('duo/duo/authentication')).toEqual({ v: 1, ts: 1, seen: ['x'] });
    await b.put('duo/duo/authentication', { v: 1, ts: 2, seen: [] });
    await expect(a.put('duo/duo/authentication', { v: 1, ts: 3, seen: [] })).rejects.toThrow(
      /changed by someone else/,
    );
    // After reading again, the writer may go on.
    expect(await a.get('duo/duo/authentication')).toEqual({ v: 1, ts: 2, seen: [] });
    await a.put('duo/duo/authentication', { v: 1, ts: 3, seen: [] });
  });

  it('S3: a corrupt checkpoint object is a StateError', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'duo-state', Key: 'c/duo/duo/telephony.json', Body: '{"v":1,"ts"' }),
    );
    const err = await new S3StateStore(s3, 'duo-state', 'c/').get('duo/duo/telephony').catch((e: Error) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toMatch(/corrupt.*refusing to start/);
  });

  it('DynamoDB: round-trips with a conditional update and detects a second writer', async () => {
    const a = new DynamodbStateStore(ddb, 'logferry-state', 'id');
    const b = new DynamodbStateStore(ddb, 'logferry-state', 'id');
    expect(await a.get('k1')).toBeUndefined();
    await a.put('k1', { v: 1, ts: 5, seen: [] });
    await a.put('k1', { v: 1, ts: 6, seen: [] });
    expect(await b.get('k1')).toEqual({ v: 1, ts: 6, seen: [] });
    await b.put('k1', { v: 1, ts: 7, seen: [] });
    await expect(a.put('k1', { v: 1, ts: 8, seen: [] })).rejects.toThrow(/changed by someone else/);
    expect(await a.get('k1')).toEqual({ v: 1, ts: 7, seen: [] });
    await a.put('k1', { v: 1, ts: 8, seen: [] });
    expect(await b.get('k1')).toEqual({ v: 1, ts: 8, seen: [] });
  });
});

const createStream = (name: string) => createKinesisStream(kinesis.client, name);
const readStream = (name: string) => readJsonRecords(kinesis.client, name);
const readRecords = (name: string) => readKinesisRecords(kinesis.client, name);

/** The old Go function's variables for `fake` and the emulators (state under `prefix`), plus `extra`. */
function duopullEnv(
  fake: FakeDuo,
  endpoint: string,
  stream: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DUOPULL_REGION: region,
    DUOPULL_S3_BUCKET: 'duo-state',
    DUOPULL_KINESIS_STREAM: stream,
    DUOPULL_HOST: fake.host,
    DUOPULL_IKEY: fake.ikey,
    DUOPULL_SKEY: fake.skey,
    DUOPULL_ENDPOINT: endpoint,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    ...extra,
  };
}

/** Runs `fn` with `env` as a Lambda configured only by variables sees it, then puts everything back. */
async function withLambdaEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  delete process.env.LOGFERRY_CONFIG;
  delete process.env.LOGFERRY_CONFIG_YAML;
  try {
    return await fn();
  } finally {
    resetDuoSource();
    await resetLambdaApp();
    process.env = saved;
  }
}

describe('scheduled Duo Lambda with the old DUOPULL_* variables', () => {
  it('pulls all three logs into Kinesis with checkpoints in S3, and the next run adds nothing twice', async () => {
    await createStream('duo-logs');
    const fake = new FakeDuo();
    const endpoint = await fake.listen();
    const base = Date.now() - 3_600_000;
    const auth = makeEvents('authentication', 1500, base, 0);
    fake.add('authentication', auth);
    fake.withoutTimestamp.add(auth[700]!.id);
    fake.add('administrator', makeEvents('administrator', 40, base, 1000));
    fake.add('telephony', makeEvents('telephony', 30, base, 100));
    try {
      await withLambdaEnv(duopullEnv(fake, endpoint, 'duo-logs'), async () => {
        const ctx = { getRemainingTimeInMillis: () => 60_000 };
        const first = await handler({ 'detail-type': 'Scheduled Event' }, ctx);
        expect(first.logs.map((l) => [l.log, l.events])).toEqual([
          ['authentication', 1500],
          ['administrator', 40],
          ['telephony', 30],
        ]);
        fake.add('telephony', makeEvents('telephony', 5, base + 3000, 100, 30));
        const second = await handler({}, ctx);
        expect(second.logs.map((l) => l.events)).toEqual([0, 0, 5]);
        const records = await readStream('duo-logs');
        const ids = records.map((r) => (r as { event: { id: string } }).event.id);
        expect(ids).toHaveLength(1574);
        expect(new Set(ids).size).toBe(1574);
        // The event without a timestamp is dead-lettered beside the checkpoints, content included.
        const dl = await s3.send(
          new ListObjectsV2Command({ Bucket: 'duo-state', Prefix: 'logferry/dead-letter/' }),
        );
        expect(dl.Contents).toHaveLength(1);
        const entry = await s3.send(
          new GetObjectCommand({ Bucket: 'duo-state', Key: dl.Contents![0]!.Key! }),
        );
        const text = await entry.Body!.transformToString();
        expect(text).toContain('has no timestamp');
        expect(text).not.toContain(fake.skey);
        expect(JSON.stringify(records)).not.toContain(fake.skey);
      });
    } finally {
      await fake.close();
    }
  });
});

describe("records in the Go function's shape (DUOPULL_KINESIS_FORMAT=original)", () => {
  it('writes each Duo API event as the fake served it, one record each, admin descriptions not expanded', async () => {
    await createStream('duo-original');
    const fake = new FakeDuo();
    const endpoint = await fake.listen();
    const base = Date.now() - 3_600_000;
    const served = [
      ...makeEvents('authentication', 30, base, 1000),
      ...makeEvents('administrator', 10, base, 1000),
      ...makeEvents('telephony', 5, base, 1000),
    ];
    fake.add('authentication', served.slice(0, 30));
    fake.add('administrator', served.slice(30, 40));
    fake.add('telephony', served.slice(40));
    const env = duopullEnv(fake, endpoint, 'duo-original', {
      DUOPULL_S3_PREFIX: 'original/',
      DUOPULL_KINESIS_FORMAT: 'original',
    });
    try {
      await withLambdaEnv(env, () => handler({}, { getRemainingTimeInMillis: () => 60_000 }));
      const records = await readRecords('duo-original');
      // The fake serializes each event with JSON.stringify: the record is that text exactly.
      expect(records.sort()).toEqual(served.map((e) => JSON.stringify(e.body)).sort());
      expect(records.some((r) => r.includes('description_fields'))).toBe(false);
    } finally {
      await fake.close();
    }
  });
});

describe("the Go function's debug switches on the Duo Lambda", () => {
  const ctx = { getRemainingTimeInMillis: () => 60_000 };

  /** Runs the handler with the DUOPULL_* variables (state under `prefix`) plus `extra`. */
  async function run(
    stream: string,
    prefix: string,
    extra: Record<string, string>,
    endpoint: string,
    fake: FakeDuo,
  ) {
    const env = duopullEnv(fake, endpoint, stream, {
      DUOPULL_S3_PREFIX: prefix,
      LOGFERRY_LOG_LEVEL: 'silent',
      ...extra,
    });
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((
      chunk: string | Uint8Array,
      ...rest: unknown[]
    ) => {
      out += String(chunk);
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    }) as typeof process.stdout.write);
    try {
      const summary = await withLambdaEnv(env, () => handler({}, ctx));
      return { summary, printed: out.split('\n').filter(Boolean) };
    } finally {
      spy.mockRestore();
    }
  }

  async function keys(prefix: string): Promise<string[]> {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: 'duo-state', Prefix: prefix }));
    return (r.Contents ?? []).map((c) => c.Key!).sort();
  }

  it('DEBUGDUO=1 prints one poll of each log and sends nothing: no record, no checkpoint', async () => {
    await createStream('duo-debugduo');
    const fake = new FakeDuo();
    const endpoint = await fake.listen();
    const base = Date.now() - 3_600_000;
    fake.add('authentication', makeEvents('authentication', 20, base, 1000));
    fake.add('telephony', makeEvents('telephony', 3, base, 1000));
    try {
      const { summary, printed } = await run('duo-debugduo', 'debugduo/', { DEBUGDUO: '1' }, endpoint, fake);
      expect(summary.logs.map((l) => [l.log, l.events])).toEqual([
        ['authentication', 20],
        ['administrator', 0],
        ['telephony', 3],
      ]);
      const docs = printed
        .map((l) => JSON.parse(l) as { event?: { dataset?: string } })
        .filter((d) => d.event?.dataset);
      expect(docs).toHaveLength(23);
      expect(await readStream('duo-debugduo')).toEqual([]);
      expect(await keys('debugduo/')).toEqual([]);
      expect(printed.join('\n')).not.toContain(fake.skey);
    } finally {
      await fake.close();
    }
  });

  it('DEBUGAWS=1 sends generated events to the real stream, checkpoints under its own name, real ones untouched', async () => {
    await createStream('duo-debugaws');
    // The configured Duo is never asked: a closed port would fail the run.
    const fake = new FakeDuo();
    const { summary } = await run('duo-debugaws', 'debugaws/', { DEBUGAWS: '1' }, 'http://127.0.0.1:9', fake);
    expect(summary.errors).toEqual([]);
    expect(summary.logs.map((l) => [l.log, l.events])).toEqual([
      ['authentication', 1200],
      ['administrator', 60],
      ['telephony', 150],
    ]);
    const records = (await readStream('duo-debugaws')) as { labels?: { logferry_demo?: boolean } }[];
    expect(records).toHaveLength(1410);
    expect(records.every((r) => r.labels?.logferry_demo === true)).toBe(true);
    expect(await keys('debugaws/')).toEqual([
      'debugaws/duo/duo-debugaws/administrator.json',
      'debugaws/duo/duo-debugaws/authentication.json',
      'debugaws/duo/duo-debugaws/telephony.json',
    ]);
  });
});
