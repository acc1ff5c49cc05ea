import { afterEach, describe, expect, it } from 'vitest';
import { conformanceEvents } from '../../../test/sink-conformance.js';
import type { Parser } from '../../core/component.js';
import { runBatch } from '../../core/pipeline.js';
import { FIREHOSE_LIMITS, FirehoseFake, fakeFirehoseClient } from '../../testing/firehose-fake.js';
import { testPipeline } from '../../testing/memory.js';
import { batchRecords, FirehoseSink } from './index.js';
import { firehoseSinkSchema } from './schema.js';

let fake: FirehoseFake;
const clients: { destroy(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await fake?.stop();
});

async function setup(extra: Record<string, unknown> = {}) {
  fake = await new FirehoseFake().start();
  fake.createStream('central-logs');
  const client = fakeFirehoseClient(fake.url);
  clients.push(client);
  return new FirehoseSink(
    firehoseSinkSchema.parse({ name: 'hose', type: 'firehose', delivery_stream: 'central-logs', ...extra }),
    client,
  );
}

describe('firehose sink', () => {
  it('cuts calls at 500 records and 4 MiB, and sets apart a record over 1,000 KiB', () => {
    const small = Array.from({ length: 1200 }, () => Buffer.alloc(100));
    expect(batchRecords(small, 500, FIREHOSE_LIMITS.callBytes).calls.map((c) => c.length)).toEqual([
      500, 500, 200,
    ]);
    const big = [0, 1, 2, 3, 4].map(() => Buffer.alloc(1_000_000));
    big.splice(2, 0, Buffer.alloc(1_100_000));
    expect(batchRecords(big, 500, FIREHOSE_LIMITS.callBytes)).toEqual({
      calls: [[0, 1, 3, 4], [5]],
      oversize: [2],
    });
  });

  it('sends 1,200 events as three accepted calls, each record one JSON line', async () => {
    const sink = await setup();
    const events = conformanceEvents(1200);
    expect(await sink.write(events)).toEqual([]);
    expect(fake.calls.map((c) => [c.target, c.status, c.records])).toEqual([
      ['Firehose_20150804.PutRecordBatch', 200, 500],
      ['Firehose_20150804.PutRecordBatch', 200, 500],
      ['Firehose_20150804.PutRecordBatch', 200, 200],
    ]);
    const first = fake.streams.get('central-logs')![0]!.toString();
    expect(first.endsWith('}\n')).toBe(true);
    expect(JSON.parse(first).event.id).toBe(events[0]!.id);
  });

  it('reports only the records Firehose failed, and runBatch resends just those', async () => {
    const sink = await setup();
    fake.failRecords(30, 0.3);
    const parser: Parser = {
      name: 'n',
      *parse() {
        for (let i = 0; i < 100; i++)
          yield { dataset: 'app', timestamp: Date.parse('2026-11-25T10:00:00Z'), doc: { i }, idParts: [i] };
      },
    };
    const p = testPipeline({ parser, sinks: [sink] });
    const res = await runBatch(
      {
        source: 's',
        items: [
          {
            ackId: 'a',
            origin: { source: 's', type: 't', ref: 'r' },
            body: { kind: 'bytes', bytes: Buffer.from('') },
          },
        ],
      },
      p,
    );
    expect(res.items[0]!.status).toBe('delivered');
    expect(fake.calls.map((c) => c.records)).toEqual([100, 30]);
    const stored = fake.streams.get('central-logs')!.map((d) => JSON.parse(d.toString()).i as number);
    expect(stored.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('fails a whole throttled call retryably and a missing stream with the service message', async () => {
    const sink = await setup();
    fake.throttle(1);
    const f1 = await sink.write(conformanceEvents(2));
    expect(f1.map((f) => [f.index, f.retryable, f.error.message])).toEqual([
      [0, true, 'central-logs: ServiceUnavailableException (HTTP 503): Slow down.'],
      [1, true, 'central-logs: ServiceUnavailableException (HTTP 503): Slow down.'],
    ]);
    // The SDK's own error stays reachable as the cause (its request id, metadata).
    expect((f1[0]!.error.cause as { name?: string }).name).toBe('ServiceUnavailableException');
    const other = new FirehoseSink(
      firehoseSinkSchema.parse({ name: 'hose', type: 'firehose', delivery_stream: 'nope' }),
      clients[0] as never,
    );
    const f2 = await other.write(conformanceEvents(1));
    expect(f2[0]!.retryable).toBe(true);
    expect(f2[0]!.error.message).toBe(
      'nope: ResourceNotFoundException (HTTP 400): Firehose nope under account 123456789012 not found.',
    );
  });
});
