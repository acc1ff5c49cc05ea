import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../../test/events/load.js';
import type { RawItem } from '../../core/batch.js';
import { defaultLimits } from '../../core/limits.js';
import { runBatch } from '../../core/pipeline.js';
import { gzipJson, kinesisLambdaEvent, rng, subscriptionMessage } from '../../demo/cwlogs.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { AutoParser, isBase64Token } from './index.js';

async function run(body: RawItem['body'], trustEventFields = false) {
  return runAt('inbox/f', body, trustEventFields);
}

async function runAt(ref: string, body: RawItem['body'], trustEventFields = false) {
  const sink = new MemorySink();
  const p = testPipeline({ parser: new AutoParser(), sinks: [sink], trustEventFields });
  const res = await runBatch(
    { source: 'in', items: [{ ackId: 'f', origin: { source: 'in', type: 'file', ref }, body }] },
    p,
  );
  return { item: res.items[0]!, events: [...sink.byId.values()], dead: p.deadLetter.entries };
}

const stream = (b: Buffer): RawItem['body'] => ({ kind: 'stream', open: async () => Readable.from([b]) });
const msg = () => subscriptionMessage({ kind: 'app', count: 4, start: 1_764_000_000_000 });

describe('auto parser', () => {
  it('reads a gzip CloudWatch payload file', async () => {
    const { events } = await run(stream(gzipJson(msg())));
    expect(events.map((e) => e.dataset)).toEqual(Array(4).fill('aws.cloudwatch_logs'));
  });

  it('reads a pretty-printed Kinesis Lambda event and unwraps its records', async () => {
    const event = kinesisLambdaEvent([gzipJson(msg()), Buffer.from('{"plain":"json"}')]);
    const { events } = await run(stream(Buffer.from(JSON.stringify(event, null, 2))));
    expect(events.map((e) => e.dataset).sort()).toEqual([
      ...Array(4).fill('aws.cloudwatch_logs'),
      'generic.json',
    ]);
  });

  it('hands AWS log files to their own parsers, by file name or by content', async () => {
    const fixtures = join(import.meta.dirname, '..');
    const trail = readFileSync(join(fixtures, 'cloudtrail/fixtures/aws-docs.json'));
    const alb = readFileSync(join(fixtures, 'alb/fixtures/aws-docs.log'));
    const byContent = await run(stream(gzipSync(trail)));
    expect(new Set(byContent.events.map((e) => e.dataset))).toEqual(new Set(['aws.cloudtrail']));
    expect(byContent.events.length).toBeGreaterThan(0);
    const albEvents = await run(stream(alb));
    expect(new Set(albEvents.events.map((e) => e.dataset))).toEqual(new Set(['aws.alb']));
    // A digest file, known by its name, holds no events.
    const digest = await runAt(
      'AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/11/25/x.json.gz',
      stream(gzipSync(trail)),
    );
    expect(digest.item).toMatchObject({ status: 'delivered', events: 0 });
  });

  it('reads JSON lines, taking the timestamp from the document', async () => {
    const lines = '{"time":"2026-11-25T08:00:00Z","user":"alice"}\n{"timestamp":1795593600,"user":"bob"}\n';
    const { events } = await run(stream(Buffer.from(lines)));
    expect(events.map((e) => [e.dataset, e.doc['@timestamp'], e.doc.user])).toEqual([
      ['generic.json', '2026-11-25T08:00:00.000Z', 'alice'],
      ['generic.json', '2026-11-25T08:00:00.000Z', 'bob'],
    ]);
  });

  it('reads base64 records one per line, as copied from a stream', async () => {
    const record = gzipJson(msg()).toString('base64');
    const b64 = `${record}\n${record}\n`;
    const { events } = await run(stream(gzipSync(b64)));
    expect(events).toHaveLength(4); // the same message twice: same ids
  });

  it('hands over each CloudWatch Logs record as one chunk, the drafts parse gives one by one', async () => {
    const records = [msg(), subscriptionMessage({ kind: 'vpc', count: 3, start: 1_764_000_000_000 })];
    const b64 = records.map((m) => gzipJson(m).toString('base64')).join('\n');
    const item: RawItem = {
      ackId: 'f',
      origin: { source: 'in', type: 'file', ref: 'inbox/f' },
      body: stream(Buffer.from(b64)),
    };
    const ctx = { limits: defaultLimits, reject: async () => {} };
    const chunks = [];
    for await (const c of new AutoParser().parseChunks(item, ctx)) chunks.push(c);
    const drafts = [];
    for await (const d of new AutoParser().parse(item, ctx)) drafts.push(d);
    expect(chunks.map((c) => (Array.isArray(c) ? c.length : 'one'))).toEqual([4, 3]);
    expect(drafts).toHaveLength(7);
    expect(chunks.flat().map((d) => d.idParts)).toEqual(drafts.map((d) => d.idParts));
  });

  it('keeps a document logferry already wrote as it was (same id) when the source trusts event fields', async () => {
    const first = await run(stream(gzipJson(msg())));
    const again = first.events.map((e) => JSON.stringify(e.doc)).join('\n');
    const second = await run(stream(Buffer.from(again)), true);
    expect(second.events.map((e) => e.id).sort()).toEqual(first.events.map((e) => e.id).sort());
    expect(new Set(second.events.map((e) => e.dataset))).toEqual(new Set(['aws.cloudwatch_logs']));
  });

  it('does not let a JSON line choose its dataset or id unless the source trusts event fields', async () => {
    const real = (await run(stream(gzipJson(msg())))).events[0]!;
    const forged = JSON.stringify({
      '@timestamp': '2026-11-25T08:00:00Z',
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      event: { dataset: 'aws.cloudtrail', id: real.id, kind: 'event' },
    });
    const lines = `${forged}\n[${forged}]\n{"event":{"dataset":{"x":1},"id":7}}\n`;
    const { events: all } = await run(stream(Buffer.from(lines)));
    expect(all).toHaveLength(3);
    // Claims are kept as text whatever their JSON type, so they never fight over an index mapping.
    expect(all[2]!.doc.logferry).toEqual({ claimed: { dataset: '{"x":1}', id: '7' } });
    const events = all.slice(0, 2);
    for (const e of events) {
      expect(e.dataset).toBe('generic.json');
      expect(e.id).not.toBe(real.id);
      expect(e.doc.event).toEqual({ kind: 'event', id: e.id, dataset: 'generic.json' });
      // Kept where no rule or sink reads it as the real thing.
      expect(e.doc.logferry).toEqual({ claimed: { dataset: 'aws.cloudtrail', id: real.id } });
    }
  });

  it('refuses, line by line, a trusted claim that is no dataset name or no id', async () => {
    const lines = [
      '{"event":{"dataset":"../../outside/x","id":"abc"}}',
      '{"event":{"dataset":".."}}',
      '{"event":{"dataset":"app.audit","id":"../x"}}',
      '[{"event":{"dataset":"."}},{"event":{"dataset":"app.audit"},"ok":1}]',
      '{"event":{"dataset":"app.audit","id":"abc"},"ok":2}',
    ].join('\n');
    const { item, events, dead } = await run(stream(Buffer.from(lines)), true);
    expect(item).toMatchObject({ status: 'delivered', events: 2, rejected: 4 });
    expect(events.map((e) => [e.dataset, e.doc.ok])).toEqual([
      ['app.audit', 1],
      ['app.audit', 2],
    ]);
    expect(events[1]!.id).toBe('abc');
    expect(dead.map((d) => d.error)).toEqual([
      'parse inbox/f line 1: event.dataset "../../outside/x" is not a dataset name (letters, digits, . _ -)',
      'parse inbox/f line 2: event.dataset ".." cannot be used as a name',
      'parse inbox/f line 3: event.id "../x" is not an event id (letters, digits, _ and -)',
      'parse inbox/f line 4[0]: event.dataset "." cannot be used as a name',
    ]);
  });

  it('sets aside bad lines one by one and keeps the good ones', async () => {
    const lines = '{"ok":1}\n{"truncated":\n{"ok":2}\n';
    const { item, events, dead } = await run(stream(Buffer.from(lines)));
    expect(item).toMatchObject({ status: 'delivered', events: 2, rejected: 1 });
    expect(events).toHaveLength(2);
    expect(dead[0]!.error).toMatch(/^parse inbox\/f line 2: line 2 is not valid JSON/);
  });

  it('sets aside one bad record of a Kinesis event and keeps the others', async () => {
    const event = kinesisLambdaEvent([gzipJson(msg()), gzipSync('<xml/>').subarray(0, 12)]);
    const { item, events, dead } = await run({ kind: 'bytes', bytes: Buffer.from(JSON.stringify(event)) });
    expect(item.rejected).toBe(1);
    expect(events).toHaveLength(4);
    const seq = event.Records[1]!.kinesis.sequenceNumber;
    expect(dead[0]!.origin.ref).toBe(
      `inbox/f Records[1] (shard shardId-000000000000, sequence ${seq}, partition key pk-1)`,
    );
    expect(dead[0]!.error).toContain(`sequence ${seq}`);
  });

  it('dead-letters a truncated single JSON document', async () => {
    const { item, dead } = await run(
      stream(Buffer.from(JSON.stringify(kinesisLambdaEvent([gzipJson(msg())]), null, 2).slice(0, 120))),
    );
    expect(item.status).toBe('dead-lettered');
    expect(dead[0]!.error).toMatch(/record is not valid JSON/);
  });

  it('reads CloudWatch Logs subscribed directly to a Lambda (AWS documentation event)', async () => {
    const event = Buffer.from(JSON.stringify(loadEvent('cloudwatch_logs', 'aws-docs')));
    const { events } = await run(stream(event));
    expect(events.map((e) => [e.dataset, e.doc.message])).toEqual([
      ['aws.cloudwatch_logs', '[ERROR] First test message'],
      ['aws.cloudwatch_logs', '[ERROR] Second test message'],
    ]);
  });

  it('reads the bodies of an SQS Lambda event (AWS documentation event)', async () => {
    const { events } = await run(stream(Buffer.from(JSON.stringify(loadEvent('sqs', 'aws-docs')))));
    expect(events.map((e) => [e.dataset, e.doc.message])).toEqual([['generic.text', 'Test message.']]);
  });

  it('refuses binary records and files as binary instead of splitting them into text events', async () => {
    const r = rng(7);
    const noise = Buffer.from(Array.from({ length: 4096 }, () => 1 + Math.floor(r() * 255)));
    const record = await run({ kind: 'bytes', bytes: noise });
    expect(record.item.status).toBe('dead-lettered');
    expect(record.events).toEqual([]);
    expect(record.dead[0]!.error).toMatch(
      /^parse inbox\/f: record is binary, not text: \d+% of its first 4096 bytes/,
    );
    const utf16 = await run(stream(Buffer.from('hello\nworld\n', 'utf16le')));
    expect(utf16.item.status).toBe('dead-lettered');
    expect(utf16.events).toEqual([]);
    expect(utf16.dead[0]!.error).toMatch(/is binary, not text: a NUL byte at uncompressed byte 1$/);
    const gzipped = await run(stream(gzipSync(noise)));
    expect(gzipped.item.status).toBe('dead-lettered');
    expect(gzipped.events).toEqual([]);
  });

  it('still reads text with a few bytes that are not UTF-8 (Latin-1 accents)', async () => {
    const { item, events } = await run(stream(Buffer.from('caf\xe9 ouvert\nna\xefve\n', 'latin1')));
    expect(item.status).toBe('delivered');
    expect(events).toHaveLength(2);
  });
});

describe('isBase64Token', () => {
  it('says what /^[A-Za-z0-9+/]{16,}={0,2}$/ says', () => {
    const pattern = /^[A-Za-z0-9+/]{16,}={0,2}$/;
    const b = 'QUJDREVGR0hJSktMTU5PUA';
    const cases = [
      b,
      `${b}=`,
      `${b}==`,
      `${b}===`,
      `=${b}`,
      `${b.slice(0, 8)}=${b.slice(8)}`,
      `${b.slice(0, 8)} ${b.slice(8)}`,
      `${b}-_`,
      `${b}\n`,
      'QUJDREVGR0hJSktM',
      'QUJDREVGR0hJSkt',
      'QUJDREVGR0hJSkt=',
      'QUJDREVGR0hJSktMTQ==',
      '',
      '==',
      'é'.repeat(20),
      gzipJson(msg()).toString('base64'),
    ];
    for (const c of cases) expect(isBase64Token(c), JSON.stringify(c)).toBe(pattern.test(c));
  });
});
