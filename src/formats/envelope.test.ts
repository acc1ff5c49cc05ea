import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/events/load.js';
import type { RawItem } from '../core/batch.js';
import { defaultLimits } from '../core/limits.js';
import { runBatch } from '../core/pipeline.js';
import { gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../demo/cwlogs.js';
import { CloudWatchLogsParser } from '../parsers/cloudwatch_logs/index.js';
import { JsonLinesParser } from '../parsers/json_lines/index.js';
import { MemorySink, testPipeline } from '../testing/memory.js';
import { EnvelopeParser } from './envelope.js';

async function run(parser: EnvelopeParser, bytes: Buffer, ref = 'inbox/event.json') {
  const sink = new MemorySink();
  const p = testPipeline({ parser, sinks: [sink] });
  const item: RawItem = {
    ackId: ref,
    origin: { source: 'in', type: 'file', ref },
    body: { kind: 'stream', open: async () => Readable.from([bytes]) },
  };
  const res = await runBatch({ source: 'in', items: [item] }, p);
  return { item: res.items[0]!, events: [...sink.byId.values()], dead: p.deadLetter.entries };
}

const cwlogs = () => new EnvelopeParser(new CloudWatchLogsParser());
const msg = () => subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 });
const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 2));

describe('envelopes around any parser', () => {
  it('reads CloudWatch Logs records inside a Kinesis Lambda event with the cloudwatch_logs parser', async () => {
    const m = msg();
    const { item, events } = await run(cwlogs(), json(kinesisLambdaEvent([gzipJson(m), gzipJson(m)])));
    expect(item.status).toBe('delivered');
    expect(events).toHaveLength(3); // the same message twice: the same ids
    expect(new Set(events.map((e) => e.dataset))).toEqual(new Set(['aws.cloudwatch_logs']));
  });

  it('reads a file of base64 records one per line, and a gzip one', async () => {
    const a = gzipJson(msg()).toString('base64');
    const b = gzipJson(subscriptionMessage({ kind: 'vpc', count: 2, start: 1_764_000_000_000 })).toString(
      'base64',
    );
    expect((await run(cwlogs(), Buffer.from(`${a}\n${b}\n`))).events).toHaveLength(5);
    expect((await run(cwlogs(), gzipSync(`${a}\r\n${b}`))).events).toHaveLength(5);
  });

  it('hands over each base64 record as one chunk, the drafts parse gives one by one', async () => {
    const lines = [msg(), subscriptionMessage({ kind: 'vpc', count: 2, start: 1_764_000_000_000 })]
      .map((m) => gzipJson(m).toString('base64'))
      .join('\n');
    const item: RawItem = {
      ackId: 'f',
      origin: { source: 'in', type: 'file', ref: 'inbox/records.b64' },
      body: { kind: 'stream', open: async () => Readable.from([Buffer.from(lines)]) },
    };
    const ctx = { limits: defaultLimits, reject: async () => {} };
    const chunks = [];
    for await (const c of cwlogs().parseChunks(item, ctx)) chunks.push(c);
    const drafts = [];
    for await (const d of cwlogs().parse(item, ctx)) drafts.push(d);
    expect(chunks.map((c) => (Array.isArray(c) ? c.length : 'one'))).toEqual([3, 2]);
    expect(chunks.flat().map((d) => d.idParts)).toEqual(drafts.map((d) => d.idParts));
  });

  it('reads the direct CloudWatch Logs subscription event (AWS documentation example)', async () => {
    const { events } = await run(cwlogs(), json(loadEvent('cloudwatch_logs', 'aws-docs')));
    expect(events.map((e) => e.doc.message)).toEqual([
      '[ERROR] First test message',
      '[ERROR] Second test message',
    ]);
  });

  it('reads records of a Firehose transformation event', async () => {
    const event = {
      invocationId: 'invocationIdExample',
      deliveryStreamArn: 'arn:aws:kinesis:EXAMPLE',
      region: 'us-east-1',
      records: [
        {
          recordId: '49546986683135544286507457936321625675700192471156785154',
          approximateArrivalTimestamp: 1495072949453,
          data: gzipJson(msg()).toString('base64'),
        },
      ],
    };
    expect((await run(cwlogs(), json(event))).events).toHaveLength(3);
  });

  it('reads SQS message bodies with the json_lines parser', async () => {
    const event = loadEvent<{ Records: { body: string }[] }>('sqs', 'aws-docs');
    event.Records[0]!.body = '{"user":"alice","action":"login"}';
    event.Records[1]!.body = '{"user":"bob","action":"logout"}';
    const { events } = await run(new EnvelopeParser(new JsonLinesParser()), json(event));
    expect(events.map((e) => e.doc.user).sort()).toEqual(['alice', 'bob']);
  });

  it('names a bad record by its sequence number, shard and partition key, and delivers the others', async () => {
    const event = kinesisLambdaEvent([gzipJson(msg()), Buffer.from('not gzip at all')]);
    const { item, events, dead } = await run(cwlogs(), json(event));
    expect(item).toMatchObject({ status: 'delivered', rejected: 1 });
    expect(events).toHaveLength(3);
    const seq = event.Records[1]!.kinesis.sequenceNumber;
    expect(dead[0]!.error).toMatch(
      new RegExp(
        `^parse inbox/event\\.json Records\\[1\\] \\(shard shardId-000000000000, sequence ${seq}, partition key pk-1\\): record is not JSON after decompression`,
      ),
    );
    expect(dead[0]!.error).toContain(`sequence ${seq}`);
    expect(Buffer.from(dead[0]!.data!, 'base64').toString()).toBe(event.Records[1]!.kinesis.data);
  });

  it('hands anything else to the parser unchanged', async () => {
    const { events } = await run(cwlogs(), gzipJson(msg()));
    expect(events).toHaveLength(3);
  });
});
