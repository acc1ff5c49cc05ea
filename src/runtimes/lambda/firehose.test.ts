import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlMessage, gzipJson, subscriptionMessage } from '../../demo/cwlogs.js';
import { resetLambdaApp } from './bootstrap.js';
import { handler } from './firehose.js';

const ctx = { getRemainingTimeInMillis: () => 60_000 };
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-firehose-'));
  process.env.LOGFERRY_CONFIG_YAML = `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources:
  - { name: central, type: kinesis, stream: central-logging, parser: auto }
transforms:
  - { type: drop, field: message, equals: drop me }
sinks:
  - { name: out, type: stdout }
`;
});
afterEach(async () => {
  await resetLambdaApp();
  delete process.env.LOGFERRY_CONFIG_YAML;
  await rm(dir, { recursive: true, force: true });
});

/** The shape of the AWS sample event for a Firehose transformation (CloudWatch Logs → Firehose). */
function transformEvent(datas: Buffer[]) {
  return {
    invocationId: 'invocationIdExample',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/central-logs',
    region: 'us-east-1',
    records: datas.map((d, i) => ({
      recordId: `4954698668313554428650745793632162567570019247115678515${i}`,
      approximateArrivalTimestamp: 1495072949453 + i,
      data: d.toString('base64'),
    })),
  };
}

const decode = (b64: string) =>
  Buffer.from(b64, 'base64')
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('Firehose transformation handler', () => {
  it('answers every record by id: Ok with NDJSON events, Dropped, ProcessingFailed', async () => {
    const cw = gzipJson(subscriptionMessage({ kind: 'vpc', count: 3, start: 1_764_000_000_000 }));
    const event = transformEvent([
      cw,
      gzipJson(controlMessage()),
      Buffer.from('{"message":"hello","user":{"name":"alice"}}\n'),
      gzipJson({ not: 'a subscription' }).subarray(0, 12),
    ]);
    const out = await handler(event, ctx);
    expect(out.records.map((r) => [r.recordId, r.result])).toEqual(
      event.records.map((r, i) => [r.recordId, ['Ok', 'Dropped', 'Ok', 'ProcessingFailed'][i]]),
    );
    const vpc = decode(out.records[0]!.data);
    expect(vpc).toHaveLength(3);
    expect(vpc[0].event.id).toMatch(/^[\w-]{27}$/);
    expect(decode(out.records[2]!.data)[0]).toMatchObject({ message: 'hello' });
    // A failed record keeps its original bytes for Firehose's error output, and is dead-lettered.
    expect(out.records[3]!.data).toBe(event.records[3]!.data);
    const days = await readdir(join(dir, 'dlq'));
    expect(days).toHaveLength(1);
  });

  it('drops a record whose events the transforms all removed', async () => {
    const out = await handler(transformEvent([Buffer.from('{"message":"drop me"}\n')]), ctx);
    expect(out.records[0]!.result).toBe('Dropped');
  });

  it('refuses an event that is not a transformation event', async () => {
    await expect(handler({ Records: [] }, ctx)).rejects.toThrow(
      /^not a Firehose transformation event: invocationId/,
    );
  });

  it("parses under the kinesis source's trust_event_fields", async () => {
    const line = Buffer.from('{"event":{"dataset":"app.audit","id":"abc"},"n":1}\n');
    const untrusted = await handler(transformEvent([line]), ctx);
    expect(decode(untrusted.records[0]!.data)[0].event.dataset).toBe('generic.json');
    await resetLambdaApp();
    process.env.LOGFERRY_CONFIG_YAML = process.env.LOGFERRY_CONFIG_YAML!.replace(
      'parser: auto }',
      'parser: auto, trust_event_fields: true }',
    );
    const trusted = await handler(transformEvent([line]), ctx);
    expect(decode(trusted.records[0]!.data)[0].event).toEqual({ dataset: 'app.audit', id: 'abc' });
  });
});
