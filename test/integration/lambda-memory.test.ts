/**
 * Per-sink delivery memory across Lambda invocations: a Kinesis batch that one sink failed is
 * retried by Lambda, here in a fresh container (the in-process memory gone); the non-idempotent
 * sink (Firehose) that took the events the first time must not get them again. The memory lives
 * in the configured state store: DynamoDB (dynalite) and S3 (s3rver).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { resetLambdaApp } from '../../src/runtimes/lambda/bootstrap.js';
import { handler as cwlogsHandler } from '../../src/runtimes/lambda/cwlogs.js';
import { handler } from '../../src/runtimes/lambda/kinesis.js';
import { handler as sqsHandler } from '../../src/runtimes/lambda/sqs.js';
import { type DynamoEmulator, startDynalite } from '../../src/testing/dynalite.js';
import { FirehoseFake } from '../../src/testing/firehose-fake.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';
import { loadEvent } from '../events/load.js';

const ctx = { getRemainingTimeInMillis: () => 60_000 };
let dir: string;
let ddb: DynamoEmulator;
let s3: S3Emulator;
let hose: FirehoseFake;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-lambda-memory-'));
  ddb = await startDynalite();
  await ddb.createTable({
    TableName: 'logferry-state',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  s3 = await startS3();
  await s3.createBucket('logferry-state');
  await s3.createBucket('app-logs');
  hose = await new FirehoseFake().start();
});

afterAll(async () => {
  await resetLambdaApp();
  delete process.env.LOGFERRY_CONFIG_YAML;
  await hose?.stop();
  await s3?.stop();
  await ddb?.stop();
  await rm(dir, { recursive: true, force: true });
});

const stores = {
  dynamodb: () => `
  type: dynamodb
  table: logferry-state
  aws: { region: us-east-1, endpoint: ${ddb.endpoint}, credentials: { access_key_id: test, secret_access_key: test } }`,
  s3: () => `
  type: s3
  bucket: logferry-state
  aws:
    region: us-east-1
    endpoint: ${s3.endpoint}
    force_path_style: true
    credentials: { access_key_id: S3RVER, secret_access_key: S3RVER }`,
};

function config(store: keyof typeof stores, base: string, stream: string): string {
  return `
state: ${stores[store]()}
dead_letter: { type: file, path: ${join(base, 'dlq')} }
delivery: { max_attempts: 1, backoff: 1ms, max_backoff: 2ms }
sources:
  - { name: central, type: kinesis, stream: central-logging, parser: json_lines }
sinks:
  - name: hose
    type: firehose
    delivery_stream: ${stream}
    aws:
      region: eu-west-1
      endpoint: ${hose.url}
      credentials: { access_key_id: AKIAIOSFODNN7EXAMPLE, secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY }
  - { name: daily, type: daily_files, path: ${join(base, 'logs')}, retention_days: 0, fsync: false }
`;
}

describe.each(['dynamodb', 's3'] as const)('Kinesis Lambda retry with the %s state store', (store) => {
  it('a sink that took the events the first time does not get them again from the retry in a new container', async () => {
    const base = join(dir, store);
    const stream = `logs-${store}`;
    hose.createStream(stream);
    const event = kinesisLambdaEvent([
      Buffer.from('{"n":1}\n{"n":2}'),
      Buffer.from('{"n":3}'),
      Buffer.from('{"n":4}'),
    ]);
    // The day-file sink cannot write (its folder is a file): every record fails on it.
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'logs'), 'x');
    process.env.LOGFERRY_CONFIG_YAML = config(store, base, stream);
    await resetLambdaApp();
    await expect(handler(event, ctx)).rejects.toThrow(/all 3 records failed/);
    expect(hose.streams.get(stream)).toHaveLength(4);

    // Lambda retries the batch; a cold container has no memory of its own.
    await resetLambdaApp();
    await rm(join(base, 'logs'));
    expect(await handler(event, ctx)).toEqual({ batchItemFailures: [] });
    const ids = hose.streams
      .get(stream)!
      .map((d) => (JSON.parse(d.toString()) as { event: { id: string } }).event.id);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);

    // Done with: a third delivery of the same batch (a replay) goes to every sink again.
    await resetLambdaApp();
    expect(await handler(event, ctx)).toEqual({ batchItemFailures: [] });
    expect(hose.streams.get(stream)).toHaveLength(8);
  });
});

function sqsConfig(base: string, stream: string): string {
  return config('dynamodb', base, stream).replace(
    '  - { name: central, type: kinesis, stream: central-logging, parser: json_lines }',
    `  - name: objects
    type: s3_sqs
    formats: [{ bucket: app-logs, prefix: app/, parser: json_lines }]
    s3:
      region: us-east-1
      endpoint: ${s3.endpoint}
      force_path_style: true
      credentials: { access_key_id: S3RVER, secret_access_key: S3RVER }`,
  );
}

/** The documented S3 put notification, for one object of the app-logs bucket, as an SQS message. */
function sqsRecord(messageId: string, key: string, size: number, receiveCount: number) {
  const ev = loadEvent<{ Records: { s3: { bucket: { name: string }; object: Record<string, unknown> } }[] }>(
    's3',
    's3-put',
  );
  ev.Records[0]!.s3.bucket.name = 'app-logs';
  ev.Records[0]!.s3.object = { key, size, eTag: `etag-${key}`, sequencer: '0055AED6DCD90281E5' };
  return {
    messageId,
    body: JSON.stringify(ev),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  };
}

describe('SQS Lambda retry with the dynamodb state store', () => {
  it('a message received again skips the sinks that took its events, even in a new container', async () => {
    const base = join(dir, 'sqs');
    const stream = 'logs-sqs';
    hose.createStream(stream);
    const body = '{"n":1}\n{"n":2}\n{"n":3}\n';
    await s3.client.send(new PutObjectCommand({ Bucket: 'app-logs', Key: 'app/a.jsonl', Body: body }));
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'logs'), 'x');
    process.env.LOGFERRY_CONFIG_YAML = sqsConfig(base, stream);
    await resetLambdaApp();
    const size = Buffer.byteLength(body);
    await expect(sqsHandler({ Records: [sqsRecord('msg-1', 'app/a.jsonl', size, 1)] }, ctx)).rejects.toThrow(
      /all 1 messages failed/,
    );
    expect(hose.streams.get(stream)).toHaveLength(3);

    await resetLambdaApp();
    await rm(join(base, 'logs'));
    expect(await sqsHandler({ Records: [sqsRecord('msg-1', 'app/a.jsonl', size, 2)] }, ctx)).toEqual({
      batchItemFailures: [],
    });
    expect(hose.streams.get(stream)).toHaveLength(3);
  });
});

describe('CloudWatch Logs subscription Lambda retry (asynchronous invocation)', () => {
  it('a retry with the same request id skips the sinks that took the events, even in a new container', async () => {
    const base = join(dir, 'cwlogs');
    const stream = 'logs-cwlogs';
    hose.createStream(stream);
    const message = subscriptionMessage({ kind: 'app', count: 5, start: Date.UTC(2026, 10, 30, 8) });
    const event = { awslogs: { data: gzipJson(message).toString('base64') } };
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'logs'), 'x');
    process.env.LOGFERRY_CONFIG_YAML = config('dynamodb', base, stream).replace(
      'parser: json_lines',
      'parser: cloudwatch_logs',
    );
    const first = { ...ctx, awsRequestId: 'c0ffee00-0000-4000-8000-000000000001' };
    await resetLambdaApp();
    await expect(cwlogsHandler(event, first)).rejects.toThrow(/not delivered/);
    expect(hose.streams.get(stream)).toHaveLength(5);

    // Lambda retries the invocation with the same request id, here in a cold container.
    await resetLambdaApp();
    await rm(join(base, 'logs'));
    expect(await cwlogsHandler(event, first)).toEqual({ events: 5, dead_lettered: 0 });
    expect(hose.streams.get(stream)).toHaveLength(5);

    // Another invocation (a new request id) of the same data is a new delivery: every sink gets it.
    await resetLambdaApp();
    await cwlogsHandler(event, { ...first, awsRequestId: 'c0ffee00-0000-4000-8000-000000000002' });
    expect(hose.streams.get(stream)).toHaveLength(10);
  });
});
