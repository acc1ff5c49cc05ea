import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertRouter } from '../../src/alerts/router.js';
import { create as createSns } from '../../src/alerts/sns/index.js';
import { snsAlertSchema } from '../../src/alerts/sns/schema.js';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { RawItem } from '../../src/core/batch.js';
import type { Alert } from '../../src/core/contracts.js';
import type { LogEvent } from '../../src/core/event.js';
import { runBatch } from '../../src/core/pipeline.js';
import { memoryLogger } from '../../src/platform/log.js';
import { DynamoWindowStore } from '../../src/rules/dynamodb-store.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { parseRule } from '../../src/rules/load.js';
import { MemoryWindowStore } from '../../src/rules/window.js';
import { resetLambdaApp } from '../../src/runtimes/lambda/bootstrap.js';
import { handler as s3Handler } from '../../src/runtimes/lambda/s3.js';
import { type DynamoEmulator, startDynalite } from '../../src/testing/dynalite.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';
import { loadEvent } from '../events/load.js';

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;
const creds = { accessKeyId: 'test', secretAccessKey: 'test' };
const ctx = { getRemainingTimeInMillis: () => 120_000 };

let fq: Fauxqs;
let sqs: SQSClient;
let sns: SNSClient;
let dir: string;

/** A topic with an SQS subscription, as an email/SQS fan-out would be set up. */
async function topicWithQueue(name: string): Promise<{ topicArn: string; queueUrl: string }> {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-q` }));
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: attrs.Attributes!.QueueArn }));
  return { topicArn: TopicArn!, queueUrl: QueueUrl! };
}

/** SNS notifications delivered to the queue (the SNS envelope, as SQS subscribers receive it). */
async function received(queueUrl: string, want: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < 20 && out.length < want; i++) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of r.Messages ?? []) {
      out.push(JSON.parse(m.Body!) as Record<string, unknown>);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
  return out;
}

const RULE_TEXT = `id: aws-sns-create-topic
title: SNS topic created
severity: low
tags: [aws.sns]
dataset: aws.cloudtrail
condition:
  all:
    - aws.cloudtrail.eventSource: sns.amazonaws.com
    - aws.cloudtrail.eventName: CreateTopic
`;

function createTopicRecord(i: number): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAJDPLRKLG7UEXAMPLE',
      arn: 'arn:aws:iam::123456789012:user/Alice',
      accountId: '123456789012',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'Alice',
    },
    eventTime: '2026-11-25T11:02:49Z',
    eventSource: 'sns.amazonaws.com',
    eventName: 'CreateTopic',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.25',
    userAgent: 'aws-cli/2.13.5',
    requestParameters: { name: `billing-alerts-${i}` },
    responseElements: { topicArn: `arn:aws:sns:us-east-1:123456789012:billing-alerts-${i}` },
    requestID: `0a5f7b26-1b61-5d06-9a1f-1c7c0f3a0b2${i}`,
    eventID: `4c1d7d8e-2b1f-4f5c-8d8e-1b1f4f5c8d8${i}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '123456789012',
    eventCategory: 'Management',
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-alerts-it-'));
  fq = await startFauxqs({ port: 0, logger: false });
  const client = { region: 'us-east-1', endpoint: fq.address, credentials: creds };
  sqs = new SQSClient(client);
  sns = new SNSClient(client);
});

afterAll(async () => {
  sqs?.destroy();
  sns?.destroy();
  await fq?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('SNS alert output against fauxqs', () => {
  it('publishes a readable subject and body with the event JSON, read back from an SQS subscription', async () => {
    const { topicArn, queueUrl } = await topicWithQueue('alerts-out');
    const out = createSns(
      snsAlertSchema.parse({
        type: 'sns',
        name: 'email',
        topic_arn: topicArn,
        event_json: 'both',
        region: 'us-east-1',
        endpoint: fq.address,
        credentials: { access_key_id: 'test', secret_access_key: 'test' },
      }),
    );
    const engine = new RuleEngine([parseRule(RULE_TEXT, 'r.yaml').rule], {
      store: new MemoryWindowStore(),
      log: memoryLogger(),
    });
    const ev: LogEvent = {
      id: 'e1',
      dataset: 'aws.cloudtrail',
      timestamp: Date.parse('2026-11-25T11:02:49Z'),
      origin: { source: 't', type: 't', ref: 'test' },
      doc: {
        '@timestamp': '2026-11-25T11:02:49.000Z',
        user: { name: 'Alice' },
        aws: { cloudtrail: createTopicRecord(1) },
      },
    };
    const alerts = await engine.evaluate([ev]);
    expect(await out.send(alerts)).toEqual([]);
    const [msg] = await received(queueUrl, 1);
    expect(msg!.Subject).toBe('[logferry] LOW: SNS topic created by Alice');
    expect(msg!.Message).toContain('Rule:     aws-sns-create-topic (aws.sns)');
    const message = String(msg!.Message);
    expect(JSON.parse(message.slice(message.indexOf('Event (JSON):\n') + 14))).toEqual(ev.doc);
    const attrs = msg!.MessageAttributes as Record<string, { Type: string; Value: string }>;
    expect(attrs.severity).toEqual({ Type: 'String', Value: 'low' });
    expect(JSON.parse(attrs.event_json!.Value)).toEqual(ev.doc);
    await out.close();
  });

  it('a topic that does not exist: the alert is dead-lettered, not dropped', async () => {
    const out = createSns(
      snsAlertSchema.parse({
        type: 'sns',
        name: 'email',
        topic_arn: 'arn:aws:sns:us-east-1:000000000000:no-such-topic',
        region: 'us-east-1',
        endpoint: fq.address,
        credentials: { access_key_id: 'test', secret_access_key: 'test' },
      }),
    );
    const deadLetter = new MemoryDeadLetterStore();
    const router = new AlertRouter(new Map([['email', out]]), {
      routes: [],
      maxAttempts: 2,
      backoff: { baseMs: 1, maxMs: 2 },
      deadLetter,
      log: memoryLogger(),
    });
    const alert = {
      id: 'a1',
      rule: { id: 'r', title: 'T', description: '', severity: 'low', tags: [] },
      severity: 'low',
      title: 'T',
      summary: 'T',
      time: '2026-11-25T11:00:00.000Z',
      dataset: 'x',
      dedup_key: 'r',
      suppressed: 0,
      event_id: 'e',
      origin: 'o',
      event: {},
    } as Alert;
    await router.deliver([alert]);
    expect(deadLetter.entries).toHaveLength(1);
    expect(deadLetter.entries[0]).toMatchObject({ kind: 'alert', sink: 'email', event: { id: 'a1' } });
    expect(deadLetter.entries[0]!.error).toMatch(/^deliver: email: SNS Publish failed \(NotFound/);
    await out.close();
  });
});

describe('the seed tutorial: email when an SNS topic is created', () => {
  let s3: S3Emulator;
  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket('trail-bucket');
  });
  afterAll(async () => {
    await resetLambdaApp();
    delete process.env.LOGFERRY_CONFIG_YAML;
    await s3?.stop();
  });

  it('CloudTrail file in S3 → S3 Lambda handler → cloudtrail parser → rule → SNS message', async () => {
    const { topicArn, queueUrl } = await topicWithQueue('security-alerts');
    const base = join(dir, 'tutorial');
    process.env.LOGFERRY_CONFIG_YAML = `
state: { type: file, path: ${join(base, 'state')} }
dead_letter: { type: file, path: ${join(base, 'dlq')} }
sources:
  - name: trails
    type: s3_sqs
    aws: { region: us-east-1, endpoint: ${fq.address}, credentials: { access_key_id: test, secret_access_key: test } }
    s3: { region: us-east-1, endpoint: ${s3.endpoint}, force_path_style: true, credentials: { access_key_id: S3RVER, secret_access_key: S3RVER } }
sinks:
  - { name: daily, type: daily_files, path: ${join(base, 'logs')}, retention_days: 0, fsync: false }
rules:
  paths: [rules/aws/sns-create-topic.yaml]
  window_store: { type: memory, persist: false }
alerts:
  outputs:
    - type: sns
      name: email
      topic_arn: ${topicArn}
      region: us-east-1
      endpoint: ${fq.address}
      credentials: { access_key_id: test, secret_access_key: test }
`;
    const other = {
      ...createTopicRecord(9),
      eventSource: 'sns.amazonaws.com',
      eventName: 'ListTopics',
      eventID: 'list-1',
    };
    const key =
      'AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/25/123456789012_CloudTrail_us-east-1_20261125T1105Z_tUtOrIaL12345678.json.gz';
    const body = gzipSync(JSON.stringify({ Records: [other, createTopicRecord(2)] }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'trail-bucket', Key: key, Body: body }));
    const ev = loadEvent<{
      Records: { s3: { bucket: { name: string }; object: Record<string, unknown> } }[];
    }>('s3', 's3-put');
    ev.Records[0]!.s3.bucket.name = 'trail-bucket';
    ev.Records[0]!.s3.object = { key, size: body.length, eTag: 'etag-t', sequencer: '0055AED6DCD90281E5' };
    expect(await s3Handler(ev, ctx)).toEqual({ objects: 1, events: 2, dead_lettered: 0, skipped: [] });
    const msgs = await received(queueUrl, 1);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.Subject).toBe(
      '[logferry] LOW: SNS topic created by arn:aws:iam::123456789012:user/Alice at 198.51.100.25, 12345...',
    );
    expect(String(msgs[0]!.Message)).toContain('"name": "billing-alerts-2"');
    // The events themselves still reached the sink; nothing was dead-lettered.
    const days = await readdir(join(base, 'logs'));
    const lines = (
      await readFile(join(base, 'logs', days[0]!, (await readdir(join(base, 'logs', days[0]!)))[0]!), 'utf8')
    )
      .trim()
      .split('\n');
    expect(lines).toHaveLength(2);
    expect(await readdir(join(base, 'dlq')).catch(() => [])).toEqual([]);
  });
});

describe('DynamoDB window store against dynalite', () => {
  let ddb: DynamoEmulator;
  const client = () => ddb.client();

  beforeAll(async () => {
    ddb = await startDynalite();
    await ddb.createTable({
      TableName: 'logferry-rules',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
  });
  afterAll(async () => {
    await ddb?.stop();
  });

  const DENIALS = `id: duo-repeated-denials
title: Many Duo denials for one user
severity: medium
dataset: duo.authentication
condition: { event.outcome: failure }
aggregate: { function: count, group_by: [user.name], window: 10m, threshold: 20 }
dedup: { fields: [user.name], throttle: 1h }
`;
  const t0 = Date.parse('2026-11-25T11:00:00Z');
  const denied = (user: string, i: number): LogEvent => ({
    id: `${user}-${i}`,
    dataset: 'duo.authentication',
    timestamp: t0 + i * 5000,
    origin: { source: 'duo', type: 'duo', ref: `duo ${i}` },
    doc: {
      '@timestamp': new Date(t0 + i * 5000).toISOString(),
      event: { outcome: 'failure' },
      user: { name: user },
    },
  });

  it('two concurrent writers share the counts and agree on one alert; the rest are counted as suppressed', async () => {
    const rule = parseRule(DENIALS, 'r.yaml').rule;
    const a = new RuleEngine([rule], {
      store: new DynamoWindowStore(client(), 'logferry-rules'),
      log: memoryLogger(),
    });
    const b = new RuleEngine([rule], {
      store: new DynamoWindowStore(client(), 'logferry-rules'),
      log: memoryLogger(),
    });
    // Each writer alone sees only its half (12 < 20); together they have 24.
    const evens = Array.from({ length: 12 }, (_, i) => denied('carol', i * 2));
    const odds = Array.from({ length: 12 }, (_, i) => denied('carol', i * 2 + 1));
    const first = await Promise.all([a.evaluate(evens.slice(0, 6)), b.evaluate(odds.slice(0, 6))]);
    expect(first.flat()).toEqual([]);
    const second = await Promise.all([a.evaluate(evens.slice(6)), b.evaluate(odds.slice(6))]);
    const alerts = second.flat();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.aggregate!.value).toBeGreaterThanOrEqual(20);
    const items = await client().send(
      new QueryCommand({
        TableName: 'logferry-rules',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 't#duo-repeated-denials\x1f"carol"' } },
      }),
    );
    // The loser's hits were added to `suppressed`, and every item expires by TTL.
    expect(Number(items.Items![0]!.suppressed!.N)).toBeGreaterThanOrEqual(1);
    expect(Number(items.Items![0]!.ttl!.N)).toBeGreaterThan(t0 / 1000);
    // An hour later the next alert reports how many repeats were suppressed meanwhile.
    const later = await a.evaluate(Array.from({ length: 20 }, (_, i) => denied('carol', 800 + i)));
    expect(later).toHaveLength(1);
    expect(later[0]!.suppressed).toBeGreaterThanOrEqual(1);
  });

  it('two Lambda containers built from the config (window_store dynamodb) raise one alert between them', async () => {
    const base = join(dir, 'ddb-app');
    const yaml = (n: number) => `
state: { type: file, path: ${join(base, `state-${n}`)} }
dead_letter: { type: file, path: ${join(base, `dlq-${n}`)} }
sources: [{ name: duo, type: inbox, path: ${join(base, 'in')}, parser: duo_auth }]
sinks: [{ name: archive, type: daily_files, path: ${join(base, `out-${n}`)}, fsync: false, retention_days: 0 }]
rules:
  paths: [rules/duo/repeated-denials.yaml]
  window_store:
    type: dynamodb
    table: logferry-rules
    region: us-east-1
    endpoint: ${ddb.endpoint}
    credentials: { access_key_id: test, secret_access_key: test }
alerts:
  outputs: [{ type: sink, name: to-archive, sink: archive }]
`;
    const apps = [
      await buildApp(parseConfig(yaml(1), 'a.yaml', {}), { log: memoryLogger() }),
      await buildApp(parseConfig(yaml(2), 'b.yaml', {}), { log: memoryLogger() }),
    ];
    const denial = (i: number): RawItem => ({
      ackId: `d${i}`,
      origin: { source: 'duo', type: 'duo', ref: `authlog ${i}` },
      body: {
        kind: 'object',
        value: {
          event_type: 'authentication',
          factor: 'duo_push',
          result: 'denied',
          reason: 'user_mistake',
          isotimestamp: new Date(t0 + i * 10_000).toISOString(),
          timestamp: Math.floor((t0 + i * 10_000) / 1000),
          txid: `tx-erin-${i}`,
          user: { name: 'erin@example.com', key: 'DU3KC77WJ06Y5HIV7XKQ' },
          access_device: { ip: '203.0.113.77' },
        },
      },
    });
    const half = (app: number) => Array.from({ length: 12 }, (_, i) => denial(i * 2 + app));
    const results = await Promise.all(
      apps.map((a, n) => runBatch({ source: 'duo', items: half(n) }, a.pipeline)),
    );
    for (const a of apps) await a.close();
    expect(results.map((r) => r.events)).toEqual([12, 12]);
    const alerts: string[] = [];
    for (const n of [1, 2]) {
      const folder = join(base, `out-${n}`, 'alerts');
      for (const f of await readdir(folder).catch(() => [] as string[]))
        alerts.push(...(await readFile(join(folder, f), 'utf8')).trim().split('\n'));
    }
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!)).toMatchObject({
      rule: { id: 'duo-repeated-denials' },
      event: { kind: 'alert' },
    });
  });

  it('first-seen values agree across writers: one alert for a new country', async () => {
    const rule = parseRule(
      `id: new-country
title: New country
severity: medium
dataset: duo.authentication
condition: { event.outcome: success }
aggregate: { function: new_value, field: source.geo.country_name, group_by: [user.name], window: 90d }
`,
      'r.yaml',
    ).rule;
    const login = (i: number, country: string): LogEvent => ({
      id: `l${i}`,
      dataset: 'duo.authentication',
      timestamp: t0 + i * 60_000,
      origin: { source: 'duo', type: 'duo', ref: `duo ${i}` },
      doc: {
        '@timestamp': '',
        event: { outcome: 'success' },
        user: { name: 'dave' },
        source: { geo: { country_name: country } },
      },
    });
    const a = new RuleEngine([rule], {
      store: new DynamoWindowStore(client(), 'logferry-rules'),
      log: memoryLogger(),
    });
    const b = new RuleEngine([rule], {
      store: new DynamoWindowStore(client(), 'logferry-rules'),
      log: memoryLogger(),
    });
    expect(await a.evaluate([login(1, 'United States')])).toEqual([]);
    const both = await Promise.all([a.evaluate([login(2, 'Romania')]), b.evaluate([login(3, 'Romania')])]);
    expect(both.flat()).toHaveLength(1);
  });
});
