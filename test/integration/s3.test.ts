import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { StoredDeadLetter } from '../../src/core/component.js';
import { eventId } from '../../src/core/ids.js';
import { controlMessage, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { memoryLogger } from '../../src/platform/log.js';
import { backfill, checkpointKey, progressLine } from '../../src/runtimes/cli/backfill.js';
import { SourceRunner } from '../../src/runtimes/daemon/supervisor.js';
import { resetLambdaApp } from '../../src/runtimes/lambda/bootstrap.js';
import { handler as s3Handler } from '../../src/runtimes/lambda/s3.js';
import { handler as sqsHandler } from '../../src/runtimes/lambda/sqs.js';
import { s3ClientFor } from '../../src/sources/s3/objects.js';
import type { S3SqsSourceConfig } from '../../src/sources/s3/schema.js';
import { ALB_KEY, albFile, CT_KEY, cloudTrailFile } from '../../src/testing/aws-logs-fixtures.js';
import { completeLines, dailyFileIds } from '../../src/testing/daily-files.js';
import { gzipUpTo } from '../../src/testing/parse-harness.js';
import { startDenyProxy } from '../../src/testing/s3-deny-proxy.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';
import { loadEvent } from '../events/load.js';

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;
const BUCKET = 'aws-logs-bucket';
const ctx = { getRemainingTimeInMillis: () => 120_000 };

let s3: S3Emulator;
let fq: Fauxqs;
let deny: Awaited<ReturnType<typeof startDenyProxy>>;
let dir: string;
let sqs: SQSClient;
let sns: SNSClient;

const creds = { accessKeyId: 'test', secretAccessKey: 'test' };

/** S3's own notification for one object, as the documentation shows it. */
function s3Event(key: string, size: number, etag = 'etag-1'): Record<string, unknown> {
  const ev = loadEvent<{ Records: { s3: { bucket: { name: string }; object: Record<string, unknown> } }[] }>(
    's3',
    's3-put',
  );
  const rec = ev.Records[0]!;
  rec.s3.bucket.name = BUCKET;
  // Keys arrive URL-encoded.
  rec.s3.object = {
    key: encodeURIComponent(key).replace(/%2F/g, '/'),
    size,
    eTag: etag,
    sequencer: '0055AED6DCD90281E5',
  };
  return ev;
}

async function put(key: string, body: Buffer | string): Promise<number> {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
  return bytes.length;
}

async function deliveredDocs(root: string): Promise<{ event: { dataset: string }; cloud?: unknown }[]> {
  const out: { event: { dataset: string }; cloud?: unknown }[] = [];
  for (const d of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(join(root, d))) {
      for (const line of completeLines(await readFile(join(root, d, f), 'utf8'))) out.push(JSON.parse(line));
    }
  }
  return out;
}

async function deadLetters(root: string): Promise<StoredDeadLetter[]> {
  const out: StoredDeadLetter[] = [];
  const walk = async (p: string): Promise<void> => {
    for (const e of await readdir(p, { withFileTypes: true }).catch(() => [])) {
      const full = join(p, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.name.endsWith('.json')) out.push(JSON.parse(await readFile(full, 'utf8')));
    }
  };
  await walk(root);
  return out;
}

function configYaml(base: string, s3Endpoint: string, queueUrl = '', visibility = '30s') {
  return `
state: { type: file, path: ${join(base, 'state')} }
dead_letter: { type: file, path: ${join(base, 'dlq')} }
delivery: { max_attempts: 2, backoff: 1ms, max_backoff: 2ms }
sources:
  - name: aws-logs
    type: s3_sqs
    ${queueUrl ? `queue_url: ${queueUrl}` : ''}
    wait_time: 1s
    visibility_timeout: ${visibility}
    retry_delay: 1s
    formats:
      - { bucket: ${BUCKET}, prefix: custom/alb/, parser: alb }
    aws: { region: us-east-1, endpoint: ${fq.address}, credentials: { access_key_id: test, secret_access_key: test } }
    s3:
      region: us-east-1
      endpoint: ${s3Endpoint}
      force_path_style: true
      credentials: { access_key_id: S3RVER, secret_access_key: S3RVER }
sinks:
  - { name: daily, type: daily_files, path: ${join(base, 'logs')}, retention_days: 0, fsync: false }
`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-s3-it-'));
  s3 = await startS3();
  await s3.createBucket(BUCKET);
  fq = await startFauxqs({ port: 0, logger: false });
  deny = await startDenyProxy(
    s3.endpoint,
    (_b, key) =>
      key.startsWith('denied/') ? 'AccessDenied' : key.startsWith('throttled/') ? 'SlowDown' : undefined,
    (_b, key) => (key.startsWith('slow/') ? 7000 : 0),
  );
  const client = { region: 'us-east-1', endpoint: fq.address, credentials: creds };
  sqs = new SQSClient(client);
  sns = new SNSClient(client);
});

afterAll(async () => {
  await resetLambdaApp();
  sqs?.destroy();
  sns?.destroy();
  await deny?.stop();
  await fq?.stop();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('s3_sqs daemon source with s3rver and fauxqs', () => {
  it('delivers every record of gzip CloudTrail and ALB objects once, announced via SQS and SNS→SQS', async () => {
    const base = join(dir, 'daemon');
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'aws-logs' }));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn!;
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 's3-notifications' }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: arn }));

    const ct = cloudTrailFile(1500, 11);
    const alb = albFile(2000, 12);
    const ctSize = await put(CT_KEY(1), gzipSync(ct));
    const albSize = await put(ALB_KEY(1), gzipSync(alb));
    const expected = new Set<string>();
    for (const rec of (JSON.parse(ct) as { Records: { eventID: string }[] }).Records)
      expected.add(eventId('aws.cloudtrail', [rec.eventID]));
    for (let i = 1; i <= 2000; i++) expected.add(eventId('aws.alb', [BUCKET, ALB_KEY(1), 'etag-alb', i]));

    await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(loadEvent('s3', 's3-test-event')) }),
    );
    await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(s3Event(CT_KEY(1), ctSize)) }),
    );
    await sns.send(
      new PublishCommand({
        TopicArn,
        Subject: 'Amazon S3 Notification',
        Message: JSON.stringify(s3Event(ALB_KEY(1), albSize, 'etag-alb')),
      }),
    );
    // The same CloudTrail notification again (S3 delivers at least once): no duplicate events.
    await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(s3Event(CT_KEY(1), ctSize, 'etag-2')) }),
    );

    const config = parseConfig(configYaml(base, s3.endpoint, QueueUrl), 'test');
    const log = memoryLogger();
    const app = await buildApp(config, { log });
    const [source] = await app.createSources();
    const runner = SourceRunner.forApp(source!, app);
    const stop = new AbortController();
    const running = runner.run(stop.signal);
    const started = Date.now();
    let ids: string[] = [];
    while (Date.now() - started < 60_000) {
      ids = await dailyFileIds(join(base, 'logs'));
      const left = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const waiting =
        Number(left.Attributes!.ApproximateNumberOfMessages) +
        Number(left.Attributes!.ApproximateNumberOfMessagesNotVisible);
      if (ids.length >= expected.size && waiting === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    stop.abort();
    await running;
    await app.close();
    expect(ids.length).toBe(expected.size);
    expect(new Set(ids)).toEqual(expected);
    expect(source!.status!()).toMatchObject({ messages: 4, objects: 3, objects_failed: 0, dead_lettered: 0 });
    expect(await deadLetters(join(base, 'dlq'))).toEqual([]);
  });
});

describe('s3_sqs visibility', () => {
  it('keeps a message hidden while a slow object is read, then deletes it', async () => {
    const base = join(dir, 'slow');
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'slow-logs' }));
    const key = `slow/${ALB_KEY(70)}`;
    const size = await put(key, gzipSync(albFile(25, 70)));
    await sqs.send(
      new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(s3Event(key, size, 'etag-slow')) }),
    );
    const log = memoryLogger();
    // Hidden for 4 s at a time, renewed every 2 s; the object takes 7 s to arrive.
    const app = await buildApp(parseConfig(configYaml(base, deny.endpoint, QueueUrl, '4s'), 'test'), { log });
    const [source] = await app.createSources();
    const runner = SourceRunner.forApp(source!, app);
    const stop = new AbortController();
    const running = runner.run(stop.signal);
    await new Promise((r) => setTimeout(r, 5500));
    // Past the first 4 s: without renewal another reader would get the message now.
    const other = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0, VisibilityTimeout: 1 }),
    );
    expect(other.Messages ?? []).toEqual([]);
    const started = Date.now();
    let ids: string[] = [];
    while (Date.now() - started < 30_000 && ids.length < 25) {
      ids = await dailyFileIds(join(base, 'logs'));
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await running;
    await app.close();
    expect(ids).toHaveLength(25);
    const left = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(left.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });
});

describe('s3_sqs failures', () => {
  it('keeps a message on the queue when its object could not be read, and dead-letters a bad body', async () => {
    const base = join(dir, 'failing');
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'failing-logs' }));
    const key = `throttled/${ALB_KEY(80)}`;
    const size = await put(key, gzipSync(albFile(5, 80)));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(s3Event(key, size)) }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '<xml>not a notification</xml>' }));
    const log = memoryLogger();
    const app = await buildApp(parseConfig(configYaml(base, deny.endpoint, QueueUrl), 'test'), { log });
    const [source] = await app.createSources();
    const runner = SourceRunner.forApp(source!, app);
    const stop = new AbortController();
    const running = runner.run(stop.signal);
    const started = Date.now();
    const status = () => source!.status!() as { objects_failed: number; messages: number };
    while (Date.now() - started < 30_000 && (status().objects_failed < 1 || status().messages < 2)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stop.abort();
    await running;
    await app.close();
    expect(status().objects_failed).toBeGreaterThanOrEqual(1);
    const left = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    // The throttled one stays (it comes back after retry_delay); the unreadable one was deleted.
    expect(
      Number(left.Attributes!.ApproximateNumberOfMessages) +
        Number(left.Attributes!.ApproximateNumberOfMessagesNotVisible),
    ).toBe(1);
    const dl = await deadLetters(join(base, 'dlq'));
    expect(dl.map((d) => d.error)).toEqual([
      expect.stringMatching(/^parse SQS message .*: message body is not JSON/),
    ]);
  });
});

describe('Lambda handlers with s3rver', () => {
  const base = () => join(dir, 'lambda');
  const env = () => {
    process.env.LOGFERRY_CONFIG_YAML = configYaml(base(), deny.endpoint);
  };
  afterEach(async () => {
    await resetLambdaApp();
    delete process.env.LOGFERRY_CONFIG_YAML;
  });

  /** An SQS Lambda event whose messages carry these bodies. */
  function sqsEvent(bodies: string[]): unknown {
    const ev = loadEvent<{ Records: Record<string, unknown>[] }>('s3', 'sqs-s3');
    const template = ev.Records[0]!;
    return { Records: bodies.map((body, i) => ({ ...template, messageId: `msg-${i}`, body })) };
  }

  async function goodAlb(n: number): Promise<{ body: string; ids: string[] }> {
    const size = await put(ALB_KEY(n), gzipSync(albFile(50, 100 + n)));
    return {
      body: JSON.stringify(s3Event(ALB_KEY(n), size, `etag-${n}`)),
      ids: Array.from({ length: 50 }, (_, i) => eventId('aws.alb', [BUCKET, ALB_KEY(n), `etag-${n}`, i + 1])),
    };
  }

  /** Runs one bad object beside a good one: the good one is delivered, the bad one dead-lettered. */
  async function badBeside(key: string, body: Buffer | string | null, n: number) {
    env();
    const good = await goodAlb(n);
    const size = body === null ? 10 : await put(key, body);
    const before = (await deadLetters(join(base(), 'dlq'))).length;
    const res = await sqsHandler(sqsEvent([JSON.stringify(s3Event(key, size)), good.body]), ctx);
    expect(res).toEqual({ batchItemFailures: [] });
    const ids = new Set(await dailyFileIds(join(base(), 'logs')));
    for (const id of good.ids) expect(ids.has(id)).toBe(true);
    const dl = (await deadLetters(join(base(), 'dlq'))).slice(before);
    return { dl, ids };
  }

  it('direct S3 events and EventBridge events are read by the s3 handler', async () => {
    env();
    const key =
      'AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/25/123456789012_CloudTrail_us-east-1_20261125T1100Z_abcdEFGH12345678.json.gz';
    const text = cloudTrailFile(40, 21);
    const size = await put(key, gzipSync(text));
    const direct = await s3Handler(s3Event(key, size), ctx);
    expect(direct).toEqual({ objects: 1, events: 40, dead_lettered: 0, skipped: [] });
    const eb = loadEvent<{ detail: { bucket: { name: string }; object: { key: string; size: number } } }>(
      's3',
      'eventbridge-object-created',
    );
    eb.detail.bucket.name = BUCKET;
    eb.detail.object.key = key;
    eb.detail.object.size = size;
    expect(await s3Handler(eb, ctx)).toMatchObject({ objects: 1, events: 40 });
    const ids = await dailyFileIds(join(base(), 'logs'));
    const want = (JSON.parse(text) as { Records: { eventID: string }[] }).Records.map((r) =>
      eventId('aws.cloudtrail', [r.eventID]),
    );
    // Read twice, stored once.
    for (const id of want) expect(ids.filter((x) => x === id)).toHaveLength(1);
    expect(await s3Handler(loadEvent('s3', 's3-test-event'), ctx)).toEqual({
      objects: 0,
      events: 0,
      dead_lettered: 0,
      skipped: ['s3:TestEvent for bucket amzn-s3-demo-bucket'],
    });
  });

  it('the s3 handler throws when an object could not be delivered, so Lambda retries the event', async () => {
    env();
    const key = `throttled/${ALB_KEY(64)}`;
    const size = await put(key, gzipSync(albFile(3, 64)));
    await expect(s3Handler(s3Event(key, size), ctx)).rejects.toThrow(
      /^1 of 1 objects failed: source s3:\/\/aws-logs-bucket\/throttled\/.*\(SlowDown: /,
    );
  });

  it('SNS-in-SQS messages and per-bucket format overrides', async () => {
    env();
    const key = 'custom/alb/today.log';
    const size = await put(key, albFile(30, 31));
    const snsBody = JSON.stringify({
      ...loadEvent<Record<string, unknown>>('s3', 'sqs-sns-s3'),
      Type: 'Notification',
      Message: JSON.stringify(s3Event(key, size, 'etag-custom')),
    });
    const res = await sqsHandler(sqsEvent([snsBody]), ctx);
    expect(res).toEqual({ batchItemFailures: [] });
    const ids = new Set(await dailyFileIds(join(base(), 'logs')));
    expect(ids.has(eventId('aws.alb', [BUCKET, key, 'etag-custom', 30]))).toBe(true);
  });

  it('reports only the message whose object failed retryably, and throws when every message failed', async () => {
    env();
    const good = await goodAlb(63);
    const key = `throttled/${ALB_KEY(63)}`;
    const size = await put(key, gzipSync(albFile(5, 63)));
    const res = await sqsHandler(sqsEvent([good.body, JSON.stringify(s3Event(key, size))]), ctx);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-1' }] });
    const ids = new Set(await dailyFileIds(join(base(), 'logs')));
    for (const id of good.ids) expect(ids.has(id)).toBe(true);
    // A batch in which nothing got through must not come back as a success.
    await expect(sqsHandler(sqsEvent([JSON.stringify(s3Event(key, size))]), ctx)).rejects.toThrow(
      /^all 1 messages failed: source s3:\/\/aws-logs-bucket\/throttled\/.*: GetObject .* failed \(SlowDown: /,
    );
  });

  it('bad input: gzip corrupt part-way delivers the lines before and dead-letters the object with the offset', async () => {
    const good = gzipUpTo(albFile(1500, 41));
    const key = ALB_KEY(41);
    const { dl, ids } = await badBeside(key, Buffer.concat([good, Buffer.alloc(64, 0xff)]), 42);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.origin.ref).toBe(`s3://${BUCKET}/${key}`);
    expect(dl[0]!.error).toMatch(new RegExp(`^parse s3://${BUCKET}/.*: s3://${BUCKET}/.*: gzip is damaged`));
    const at = Number(/^compressed byte (\d+)$/.exec(dl[0]!.position ?? '')?.[1]);
    expect(at).toBeGreaterThan(good.length - 16 * 1024);
    // Everything zlib inflated before the damaged 16 KB read is delivered.
    const lines = Array.from({ length: 1500 }, (_, i) =>
      ids.has(eventId('aws.alb', [BUCKET, key, 'etag-1', i + 1])),
    );
    const firstMissing = lines.indexOf(false);
    expect(firstMissing).toBeGreaterThan(1000);
    expect(lines.slice(firstMissing).every((x) => !x)).toBe(true);
  });

  it('bad input: truncated CloudTrail JSON delivers the complete records and dead-letters the rest', async () => {
    const text = cloudTrailFile(20, 51);
    const records = (JSON.parse(text) as { Records: { eventID: string }[] }).Records;
    const cut = text.indexOf(records[15]!.eventID);
    const key = CT_KEY(51);
    const { dl, ids } = await badBeside(key, gzipSync(text.slice(0, cut)), 52);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.error).toMatch(/JSON is truncated: the file ends inside Records\[15\] at byte \d+$/);
    expect(dl[0]!.origin.attrs).toMatchObject({ bucket: BUCKET, key });
    for (const r of records.slice(0, 15)) expect(ids.has(eventId('aws.cloudtrail', [r.eventID]))).toBe(true);
    expect(ids.has(eventId('aws.cloudtrail', [records[15]!.eventID]))).toBe(false);
  });

  it('bad input: a zero-byte object is dead-lettered', async () => {
    const { dl } = await badBeside(CT_KEY(53), Buffer.alloc(0), 54);
    expect(dl.map((d) => d.error)).toEqual([`parse s3://${BUCKET}/${CT_KEY(53)}: object is empty (0 bytes)`]);
  });

  it('bad input: a line with the wrong field count is set aside alone', async () => {
    const lines = albFile(10, 55).split('\n');
    lines.splice(4, 0, 'http 2026-11-25T10:00:00.000000Z app/x/1 203.0.113.1:1 - 0.001');
    const key = ALB_KEY(55);
    const { dl, ids } = await badBeside(key, gzipSync(lines.join('\n')), 56);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.origin.ref).toBe(`s3://${BUCKET}/${key} line 5`);
    expect(dl[0]!.error).toMatch(
      /line 5 is not a ALB access log line: it has 6 fields, ALB lines have at least 18$/,
    );
    expect(Buffer.from(dl[0]!.data!, 'base64').toString()).toMatch(/^http 2026-11-25T10:00:00/);
    expect(ids.has(eventId('aws.alb', [BUCKET, key, 'etag-1', 11]))).toBe(true);
  });

  it('bad input: an object deleted before it is read (NoSuchKey) is dead-lettered', async () => {
    const key = CT_KEY(57);
    const { dl } = await badBeside(key, null, 58);
    expect(dl.map((d) => d.error)).toEqual([
      `source s3://${BUCKET}/${key}: s3://${BUCKET}/${key} no longer exists (NoSuchKey): it was deleted before it was read`,
    ]);
  });

  it('bad input: access denied is dead-lettered with what permission is missing', async () => {
    const key =
      'denied/AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/25/123456789012_CloudTrail_us-east-1_20261125T1100Z_deniedDENIED1234.json.gz';
    const before = deny.denials;
    const { dl } = await badBeside(key, gzipSync(cloudTrailFile(3, 59)), 60);
    expect(deny.denials).toBeGreaterThan(before);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.error).toMatch(
      /access denied reading s3:\/\/.* \(AccessDenied\): give the reader s3:GetObject/,
    );
  });

  it('bad input: a notification body that is not JSON is dead-lettered and acknowledged', async () => {
    env();
    const good = await goodAlb(61);
    const before = (await deadLetters(join(base(), 'dlq'))).length;
    const res = await sqsHandler(sqsEvent(['this is not json', good.body]), ctx);
    expect(res).toEqual({ batchItemFailures: [] });
    const dl = (await deadLetters(join(base(), 'dlq'))).slice(before);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.error).toMatch(
      /^parse SQS message msg-0: message body is not JSON \(.*starts "this is not json"\)$/,
    );
    expect(Buffer.from(dl[0]!.data!, 'base64').toString()).toBe('this is not json');
    const ids = new Set(await dailyFileIds(join(base(), 'logs')));
    for (const id of good.ids) expect(ids.has(id)).toBe(true);
  });

  it('bad input: an unknown format is dead-lettered, not guessed', async () => {
    const { dl } = await badBeside('exports/users.csv', 'name,role\nbob,admin\n', 62);
    expect(dl).toHaveLength(1);
    expect(dl[0]!.error).toMatch(/^parse s3:\/\/aws-logs-bucket\/exports\/users.csv: unknown log format/);
  });
});

describe('backfill', () => {
  it('reads a prefix in batches, resumes after an interruption and never delivers twice', async () => {
    const base = join(dir, 'backfill');
    const prefix = 'backfill-test/';
    for (let n = 1; n <= 5; n++) {
      const key = `${prefix}${ALB_KEY(n)}`;
      await put(key, gzipSync(albFile(20, 200 + n)));
    }
    await put(
      `${prefix}AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/25/123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20261125T1100Z.json.gz`,
      '{}',
    );
    const open = async (): Promise<{ app: App; source: S3SqsSourceConfig }> => {
      const app = await buildApp(parseConfig(configYaml(base, s3.endpoint), 'test'), { log: memoryLogger() });
      return { app, source: app.config.sources[0] as S3SqsSourceConfig };
    };
    const first = await open();
    const stop = new AbortController();
    const lines: string[] = [];
    const p1 = await backfill({
      ...first,
      s3: s3ClientFor(first.source),
      bucket: BUCKET,
      prefix,
      batchSize: 2,
      signal: stop.signal,
      progress: (p) => {
        lines.push(progressLine(`s3://${BUCKET}/${prefix}`, p));
        stop.abort();
      },
    });
    await first.app.close();
    expect(p1.objects).toBe(2);
    expect(lines[0]).toMatch(
      /^backfill s3:\/\/aws-logs-bucket\/backfill-test\/: 2 objects \(0\.\d MB this run\), 40 events, 0 dead-lettered, 0 failed, at backfill-test\/AWSLogs/,
    );
    expect((await dailyFileIds(join(base, 'logs'))).length).toBe(40);

    const second = await open();
    const p2 = await backfill({
      ...second,
      s3: s3ClientFor(second.source),
      bucket: BUCKET,
      prefix,
      batchSize: 2,
    });
    expect(p2).toMatchObject({ objects: 5, events: 100, dead_lettered: 0, failed: 0, retry: [] });
    const cp = await second.app.state.get<{ after: string }>(checkpointKey(BUCKET, prefix));
    expect(cp?.after).toBe(`${prefix}${ALB_KEY(5)}`);
    // A third run finds nothing new.
    const p3 = await backfill({
      ...second,
      s3: s3ClientFor(second.source),
      bucket: BUCKET,
      prefix,
      batchSize: 2,
    });
    expect(p3.objects).toBe(5);
    await second.app.close();
    const ids = await dailyFileIds(join(base, 'logs'));
    expect(ids.length).toBe(100);
    expect(new Set(ids).size).toBe(100);
  });

  it('reads a Firehose archive of CloudWatch Logs and fills CloudTrail account and region from the key', async () => {
    const base = join(dir, 'backfill-shapes');
    const a = subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 });
    const b = subscriptionMessage({ kind: 'vpc', count: 4, start: 1_764_000_100_000 });
    // Firehose appends record after record with no separator; gzip members may be concatenated.
    await put(
      'archive/2026/11/25/10/central-archive-1-2026-11-25-10-00-00-9a1b2c3d-1e2f-4a5b-8c9d-0e1f2a3b4c5d.gz',
      Buffer.concat([
        gzipSync(JSON.stringify(a) + JSON.stringify(controlMessage())),
        gzipSync(JSON.stringify(b)),
      ]),
    );
    const record = (JSON.parse(cloudTrailFile(1, 77)) as { Records: Record<string, unknown>[] }).Records[0]!;
    delete record.recipientAccountId;
    delete record.awsRegion;
    await put(
      'archive/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/25/111122223333_CloudTrail_eu-west-1_20261125T1100Z_abcdEFGH12345678.json.gz',
      gzipSync(JSON.stringify({ Records: [record] })),
    );
    const app = await buildApp(parseConfig(configYaml(base, s3.endpoint), 'test'), { log: memoryLogger() });
    const source = app.config.sources[0] as S3SqsSourceConfig;
    const done = await backfill({
      app,
      source,
      s3: s3ClientFor(source),
      bucket: BUCKET,
      prefix: 'archive/',
      batchSize: 4,
    });
    await app.close();
    expect(done).toMatchObject({ objects: 2, events: 8, dead_lettered: 0, failed: 0 });
    const docs = await deliveredDocs(join(base, 'logs'));
    expect(docs.filter((d) => d.event.dataset === 'aws.cloudwatch_logs')).toHaveLength(7);
    expect(docs.find((d) => d.event.dataset === 'aws.cloudtrail')?.cloud).toEqual({
      provider: 'aws',
      region: 'eu-west-1',
      account: { id: '111122223333' },
    });
  });

  it('keeps earlier failures not yet tried in the checkpoint when interrupted while retrying them', async () => {
    const base = join(dir, 'backfill-retry');
    const prefix = 'backfill-retry/';
    const keys = [1, 2, 3].map((n) => `${prefix}${ALB_KEY(300 + n)}`);
    for (const [i, key] of keys.entries()) await put(key, gzipSync(albFile(3, 300 + i)));
    const app = await buildApp(parseConfig(configYaml(base, s3.endpoint), 'test'), { log: memoryLogger() });
    const source = app.config.sources[0] as S3SqsSourceConfig;
    const key = checkpointKey(BUCKET, prefix);
    await app.state.put(key, { after: keys[2], retry: keys, objects: 0, events: 0, dead_lettered: 0 });
    const stop = new AbortController();
    const p = await backfill({
      app,
      source,
      s3: s3ClientFor(source),
      bucket: BUCKET,
      prefix,
      batchSize: 1,
      signal: stop.signal,
      progress: () => stop.abort(),
    });
    const cp = await app.state.get<{ retry: string[] }>(key);
    await app.close();
    expect(p.objects).toBe(1);
    expect(cp?.retry).toEqual(keys.slice(1));
    expect(p.retry).toEqual(keys.slice(1));
  });
});
