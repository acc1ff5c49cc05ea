import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { RawItem } from '../../core/batch.js';
import type { ParseContext } from '../../core/component.js';
import { type EventDraft, type LogEvent, serializedDoc } from '../../core/event.js';
import { defaultLimits } from '../../core/limits.js';
import { runBatch } from '../../core/pipeline.js';
import { controlMessage, gzipJson, subscriptionMessage } from '../../demo/cwlogs.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { CloudWatchLogsParser, create } from './index.js';

const docsData = readFileSync(join(import.meta.dirname, 'fixtures/aws-docs-data.b64'), 'utf8');

function item(body: RawItem['body'], i = 0): RawItem {
  return {
    ackId: String(i),
    origin: { source: 'cw', type: 'kinesis', ref: `central/shardId-000000000000/${i}` },
    body,
  };
}

async function run(...bodies: RawItem['body'][]) {
  const sink = new MemorySink();
  const p = testPipeline(
    { parser: new CloudWatchLogsParser(), sinks: [sink] },
    {
      limits: {
        ...defaultLimits,
        max_record_bytes: 200_000,
        max_inflated_bytes: 1_000_000,
        max_line_bytes: 10_000,
      },
    },
  );
  const res = await runBatch({ source: 'cw', items: bodies.map((b, i) => item(b, i)) }, p);
  return { res, events: [...sink.byId.values()], dead: p.deadLetter.entries };
}

describe('CloudWatch Logs subscription parser', () => {
  it('decodes the AWS documentation example into one event per log event', async () => {
    const { res, events } = await run({ kind: 'base64', text: docsData });
    expect(res.items[0]!.status).toBe('delivered');
    expect(events.map((e) => e.doc.message)).toEqual([
      '[ERROR] First test message',
      '[ERROR] Second test message',
    ]);
    expect(events[0]!.doc).toMatchObject({
      '@timestamp': '2015-08-24T19:03:07.000Z',
      event: { dataset: 'aws.cloudwatch_logs', provider: 'cloudwatch_logs' },
      cloud: { provider: 'aws', account: { id: '123456789123' } },
      aws: {
        cloudwatch: {
          log_group: 'testLogGroup',
          log_stream: 'testLogStream',
          subscription_filters: ['testFilter'],
          event_id: 'eventId1',
        },
      },
    });
  });

  it('parses JSON messages into fields and leaves text messages alone', async () => {
    const msg = subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 });
    const { events } = await run({ kind: 'bytes', bytes: gzipJson(msg) });
    expect(events).toHaveLength(3);
    const json = events[0]!.doc.json as Record<string, unknown>;
    expect(json.service).toBeTypeOf('string');
    expect(json.http).toMatchObject({ method: expect.any(String) });
  });

  it('accepts plain (not gzip) JSON as Firehose may deliver it', async () => {
    const msg = subscriptionMessage({ kind: 'vpc', count: 2, start: 1_764_000_000_000 });
    const { events } = await run({ kind: 'bytes', bytes: Buffer.from(JSON.stringify(msg)) });
    expect(events).toHaveLength(2);
    expect(String(events[0]!.doc.message)).toMatch(/^2 123456789012 eni-/);
  });

  it('hands over a Firehose archive a message at a time: each message is one chunk of the drafts parse gives', async () => {
    const messages = [
      subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 }),
      subscriptionMessage({ kind: 'vpc', count: 2, start: 1_764_000_001_000 }),
    ];
    const archive = gzipSync(Buffer.from(messages.map((m) => JSON.stringify(m)).join('')));
    const streamed = item({ kind: 'stream', open: async () => Readable.from([archive]) });
    const ctx: ParseContext = { limits: defaultLimits, reject: async () => {} };
    const parser = new CloudWatchLogsParser();
    const chunks = [];
    for await (const c of parser.parseChunks(streamed, ctx)) chunks.push(c);
    const drafts: EventDraft[] = [];
    for await (const d of parser.parse(streamed, ctx)) drafts.push(d);
    expect(chunks.map((c) => (Array.isArray(c) ? c.length : 'one'))).toEqual([3, 2]);
    expect(chunks.flat().map((d) => d.idParts)).toEqual(drafts.map((d) => d.idParts));
    expect(drafts).toHaveLength(5);
  });

  it('skips CONTROL_MESSAGE health checks', async () => {
    const { res, events, dead } = await run({ kind: 'bytes', bytes: gzipJson(controlMessage()) });
    expect(res.items[0]).toMatchObject({ status: 'delivered', events: 0 });
    expect(events).toEqual([]);
    expect(dead).toEqual([]);
  });

  it('accepts an empty logEvents array', async () => {
    const msg = { ...subscriptionMessage({ kind: 'app', count: 0, start: 0 }) };
    const { res } = await run({ kind: 'bytes', bytes: gzipJson(msg) });
    expect(res.items[0]).toMatchObject({ status: 'delivered', events: 0 });
  });

  describe('a record too large for one string (read a piece of its events at a time)', () => {
    /** A record of `count` events whose JSON is over 128 KB: each events' docs, as JSON. */
    async function docsOf(msg: object) {
      const text = JSON.stringify(msg);
      expect(text.length).toBeGreaterThan(130 * 1024);
      const { res, events, dead } = await run({ kind: 'bytes', bytes: gzipSync(text) });
      return { res, docs: events.map((e) => serializedDoc(e)), dead };
    }
    /** The same events from records small enough to be parsed whole. */
    async function docsInSmallRecords(msg: { logEvents: unknown[] }) {
      const bodies: RawItem['body'][] = [];
      for (let i = 0; i < msg.logEvents.length; i += 50)
        bodies.push({
          kind: 'bytes',
          bytes: gzipJson({ ...msg, logEvents: msg.logEvents.slice(i, i + 50) }),
        });
      const { events } = await run(...bodies);
      return events.map((e) => serializedDoc(e));
    }

    it('gives the documents of the same events parsed whole', async () => {
      const msg = subscriptionMessage({ kind: 'app', count: 600, start: 1_764_000_000_000 });
      const { res, docs } = await docsOf(msg);
      expect(res.items[0]).toMatchObject({ status: 'delivered', events: 600 });
      expect(docs).toEqual(await docsInSmallRecords(msg));
    });

    it('reads messages that end like the gap between two events, and non-ASCII text', async () => {
      const base = subscriptionMessage({ kind: 'vpc', count: 800, start: 1_764_000_000_000 });
      const msg = {
        ...base,
        logEvents: base.logEvents.map((e, i) => ({
          ...e,
          message: `${e.message} ünï ${i % 3 ? '},{' : '{"a":"},{"}'}`,
        })),
      };
      const { res, docs } = await docsOf(msg);
      expect(res.items[0]).toMatchObject({ status: 'delivered', events: 800 });
      expect(docs).toEqual(await docsInSmallRecords(msg));
    });

    it('dead-letters a cut one with the error it always had', async () => {
      const text = JSON.stringify(subscriptionMessage({ kind: 'app', count: 600, start: 1_764_000_000_000 }));
      const { res, dead } = await run({ kind: 'bytes', bytes: gzipSync(text.slice(0, -2)) });
      expect(res.items[0]!.status).toBe('dead-lettered');
      // Parsed whole, it starts like messages back to back (a Firehose archive) and is read as such.
      expect(dead[0]!.error).toMatch(
        /input is truncated: object 0 starting at uncompressed byte 0 never ends$/,
      );
    });
  });

  const good = () => gzipJson(subscriptionMessage({ kind: 'app', count: 2, start: 1_764_000_000_000 }));
  const bad: [string, RawItem['body'], RegExp][] = [
    ['not base64', { kind: 'base64', text: 'this is *not* base64!' }, /record data is not base64/],
    [
      'not gzip, not JSON',
      { kind: 'bytes', bytes: Buffer.from('hello there') },
      /record is not JSON after decompression/,
    ],
    [
      'truncated gzip',
      { kind: 'bytes', bytes: good().subarray(0, 40) },
      /record: gzip stream is truncated|record: not valid gzip/,
    ],
    [
      'gzip of non-JSON',
      { kind: 'bytes', bytes: gzipSync('a,b,c\n1,2,3') },
      /record is not JSON after decompression/,
    ],
    [
      'JSON of the wrong shape',
      { kind: 'bytes', bytes: gzipJson({ hello: 'world' }) },
      /not a CloudWatch Logs subscription message: messageType/,
    ],
    [
      'a gzip bomb',
      { kind: 'bytes', bytes: gzipSync(Buffer.alloc(5_000_000, 0x20)) },
      /inflates past the 1000000-byte limit/,
    ],
    [
      'an oversize record',
      { kind: 'bytes', bytes: Buffer.alloc(300_000, 1) },
      /record is 300000 bytes, over the 200000-byte record limit/,
    ],
  ];
  for (const [name, body, message] of bad) {
    it(`dead-letters ${name} with a one-line error and delivers the rest of the batch`, async () => {
      const { res, events, dead } = await run({ kind: 'bytes', bytes: good() }, body, {
        kind: 'bytes',
        bytes: good(),
      });
      expect(res.items.map((r) => r.status)).toEqual(['delivered', 'dead-lettered', 'delivered']);
      expect(events).toHaveLength(4);
      expect(dead).toHaveLength(1);
      expect(dead[0]!.error).toMatch(message);
      expect(dead[0]!.error).toContain('central/shardId-000000000000/1');
      expect(dead[0]!.error).not.toContain('\n');
      expect(dead[0]!.data).toBeDefined();
    });
  }
});

describe('CloudTrail delivered through CloudWatch Logs', () => {
  const trail = JSON.parse(
    readFileSync(join(import.meta.dirname, '../cloudtrail/fixtures/aws-docs.json'), 'utf8'),
  ) as { Records: Record<string, unknown>[] };
  // As a trail writes to its log group: one record per log event, the stream named after the account and region.
  const message = (logGroup: string) => ({
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup,
    logStream: '123456789012_CloudTrail_us-east-2',
    subscriptionFilters: ['central-logging'],
    logEvents: trail.Records.map((r, i) => ({
      id: `3782734893472938472983749823749823749823749823749823740${i}`,
      timestamp: Date.parse(String(r.eventTime)),
      message: JSON.stringify(r),
    })),
  });

  async function parse(parser: ReturnType<typeof create>, logGroup: string, trust?: boolean) {
    const drafts: EventDraft[] = [];
    const ctx: ParseContext = { limits: defaultLimits, trustEventFields: trust, reject: async () => {} };
    for await (const d of parser.parse(item({ kind: 'bytes', bytes: gzipJson(message(logGroup)) }), ctx))
      drafts.push(d);
    return drafts;
  }

  it('normalizes the records of a log group the config names as aws.cloudtrail', async () => {
    const parser = create({ cloudtrail_log_groups: ['aws-cloudtrail-logs-*', 'CloudTrail/*'] });
    for (const group of ['aws-cloudtrail-logs-123456789012-3a1b2c3d', 'CloudTrail/DefaultLogGroup']) {
      const drafts = await parse(parser, group);
      expect(drafts.map((d) => d.dataset)).toEqual(['aws.cloudtrail', 'aws.cloudtrail', 'aws.cloudtrail']);
      expect(drafts[0]!.idParts).toEqual([trail.Records[0]!.eventID]);
      expect(drafts[0]!.doc).toMatchObject({
        event: { action: trail.Records[0]!.eventName, provider: trail.Records[0]!.eventSource },
        cloud: { account: { id: trail.Records[0]!.recipientAccountId } },
        aws: { cloudtrail: trail.Records[0], cloudwatch: { log_group: group } },
      });
    }
  });

  it('leaves CloudTrail-shaped messages of other log groups alone unless the source trusts payloads', async () => {
    const parser = create({ cloudtrail_log_groups: ['aws-cloudtrail-logs-*'] });
    const spoof = await parse(parser, '/aws/lambda/some-app');
    expect(spoof.map((d) => d.dataset)).toEqual(Array(3).fill('aws.cloudwatch_logs'));
    const trusted = await parse(create(), '/aws/lambda/some-app', true);
    expect(trusted.map((d) => d.dataset)).toEqual(Array(3).fill('aws.cloudtrail'));
  });

  it('refuses log-group patterns that are not strings', () => {
    expect(() => create({ cloudtrail_log_groups: 'CloudTrail/*' })).toThrow();
    expect(() => create({ cloudtrail_log_groups: [''] })).toThrow();
  });
});

describe('CloudWatch Logs documents as JSON', () => {
  const hostile = {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup: '/weird/"group"\\name\u2028',
    logStream: 'stream\n\t<x>',
    subscriptionFilters: ['a"b', 'ü'],
    logEvents: [
      { id: '1', timestamp: 1_764_000_000_123, message: 'plain "quoted" \\ text \u0000 \ud800 end' },
      { id: '2"x', timestamp: -5, message: '{"a":1,"nested":{"b":[1,"two",null]},"__proto__":{"p":1}}\n' },
      { id: '3', timestamp: 1_764_000_000_124, message: '{"event":{"kind":"x"},"msg":"merged?"}' },
      { id: '4', timestamp: 1_764_000_000_125, message: '{not json}' },
    ],
  };

  async function serialized(opts: ConstructorParameters<typeof CloudWatchLogsParser>[0], transforms = 0) {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new CloudWatchLogsParser(opts), sinks: [sink] });
    const pipeline = {
      ...p,
      transforms: Array.from({ length: transforms }, () => (ev: LogEvent) => {
        (ev.doc as Record<string, unknown>).labels = { redacted: true };
        return ev;
      }),
    };
    await runBatch({ source: 'cw', items: [item({ kind: 'bytes', bytes: gzipJson(hostile) })] }, pipeline);
    return [...sink.byId.values()].map((e) => [serializedDoc(e), JSON.stringify(e.doc)]);
  }

  it('writes exactly what JSON.stringify writes, whatever the record holds and whatever the options', async () => {
    for (const opts of [
      {},
      { keepOriginal: true },
      { jsonTarget: 'app' },
      { jsonTarget: '' },
      { jsonTarget: 'event' },
    ]) {
      const pairs = await serialized(opts);
      expect(pairs).toHaveLength(4);
      for (const [fast, reference] of pairs) expect(fast, JSON.stringify(opts)).toBe(reference);
    }
  });

  it('leaves the serializing to JSON.stringify once a transform may have changed the doc', async () => {
    const pairs = await serialized({}, 1);
    expect(pairs).toHaveLength(4);
    for (const [fast, reference] of pairs) {
      expect(fast).toBe(reference);
      expect(JSON.parse(fast!).labels).toEqual({ redacted: true });
    }
  });
});
