/**
 * The Kinesis sink against kinesis-mock: the sink conformance suite, and the PutRecords limits.
 */
import { KinesisClient, type PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/core/event.js';
import { KinesisSink } from '../../src/sinks/kinesis/index.js';
import { kinesisSinkSchema } from '../../src/sinks/kinesis/schema.js';
import { type KinesisEmulator, startKinesisEmulator } from '../../src/testing/kinesis-emulator.js';
import { createStream as createKinesisStream, readJsonRecords } from '../../src/testing/kinesis-streams.js';
import { describeSinkConformance } from '../sink-conformance.js';

const region = 'us-east-1';
let kinesis: KinesisEmulator;

beforeAll(async () => {
  kinesis = await startKinesisEmulator();
});

afterAll(async () => {
  await kinesis?.stop();
});

const createStream = (name: string) => createKinesisStream(kinesis.client, name);
const readStream = (name: string) => readJsonRecords(kinesis.client, name);

let streamNo = 0;
describeSinkConformance(
  'kinesis',
  async () => {
    const stream = `conformance-${++streamNo}`;
    await createStream(stream);
    const client = new KinesisClient({
      endpoint: kinesis.endpoint,
      region,
      credentials: kinesis.credentials,
      requestHandler: new NodeHttpHandler(),
    });
    // kinesis-mock never throttles: refuse chosen records at the client boundary, answering
    // them the way PutRecords does (per-record ErrorCode), and do not send them.
    const faults: { remaining: number; dataset?: string }[] = [];
    let slowMs = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Records?: { Data: Uint8Array }[] };
        if (slowMs) await new Promise((r) => setTimeout(r, slowMs));
        const fault = faults.find((f) => f.remaining > 0);
        if (!fault || !input.Records) return next(args);
        fault.remaining--;
        const all = input.Records;
        const refuse = all.map(
          (r) =>
            !fault.dataset ||
            (JSON.parse(Buffer.from(r.Data).toString()) as { event: { dataset: string } }).event.dataset ===
              fault.dataset,
        );
        const kept = all.filter((_, i) => !refuse[i]);
        let sent: { Records: { SequenceNumber?: string; ShardId?: string }[] } = { Records: [] };
        if (kept.length) {
          const res = await next({ ...args, input: { ...input, Records: kept } });
          sent = res.output as typeof sent;
        }
        let k = 0;
        const Records = all.map((_, i) =>
          refuse[i]
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
            : sent.Records[k++]!,
        );
        return {
          response: {},
          output: { Records, FailedRecordCount: refuse.filter(Boolean).length, $metadata: {} },
        } as never;
      },
      { step: 'initialize', name: 'conformanceFaults' },
    );
    const sink = new KinesisSink(
      kinesisSinkSchema.parse({ type: 'kinesis', name: 'kinesis', stream }),
      client,
    );
    return {
      sink,
      readBack: async () => (await readStream(stream)).map((d) => (d as { event: { id: string } }).event.id),
      failNext: (times, dataset) => {
        faults.push({ remaining: times, dataset });
      },
      slowDown: (ms) => {
        slowMs = ms;
      },
      close: () => sink.close(),
    };
  },
  {
    perEventFailures: true,
    idempotent: {
      reason: 'Kinesis keeps every put; readers drop repeats by event.id (also the partition key)',
    },
  },
);

describe('Kinesis sink', () => {
  it('splits a large write into calls within the limits and dead-letters an oversize record', async () => {
    await createStream('duo-big');
    const sends: number[] = [];
    const client = new KinesisClient({
      endpoint: kinesis.endpoint,
      region,
      credentials: kinesis.credentials,
      requestHandler: new NodeHttpHandler(),
    });
    const real = client.send.bind(client);
    client.send = ((cmd: PutRecordsCommand) => {
      sends.push(cmd.input.Records?.length ?? 0);
      return real(cmd) as Promise<PutRecordsCommandOutput>;
    }) as typeof client.send;
    const sink = new KinesisSink(
      kinesisSinkSchema.parse({ type: 'kinesis', name: 'k', stream: 'duo-big' }),
      client,
    );
    const ev = (n: number, pad = 0): LogEvent => ({
      id: `id-${n}`,
      dataset: 'duo.authentication',
      timestamp: 0,
      origin: { source: 't', type: 't', ref: `t/${n}` },
      doc: { '@timestamp': '1970-01-01T00:00:00.000Z', event: { id: `id-${n}` }, pad: 'x'.repeat(pad) },
    });
    const events = [...Array.from({ length: 1200 }, (_, i) => ev(i)), ev(9999, 1024 * 1024)];
    const failures = await sink.write(events);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ index: 1200, retryable: false });
    expect(failures[0]!.error.message).toMatch(/over Kinesis's 1 MiB record limit/);
    expect(sends).toEqual([500, 500, 200]);
    expect(await readStream('duo-big')).toHaveLength(1200);
    await sink.close();
  });
});
