import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../core/event.js';
import { chunkRecords, classifyEntries, KinesisSink } from './index.js';
import { kinesisSinkSchema } from './schema.js';

const MiB = 1024 * 1024;

describe('Kinesis sink pieces', () => {
  it('chunks within 500 records and 5 MiB per call, keeping order', () => {
    const small = Array.from({ length: 1201 }, (_, i) => ({ i, size: 100 }));
    expect(chunkRecords(small, 500, 5 * MiB).map((c) => c.length)).toEqual([500, 500, 201]);
    const big = Array.from({ length: 12 }, (_, i) => ({ i, size: MiB - 10 }));
    const chunks = chunkRecords(big, 500, 5 * MiB);
    expect(chunks.map((c) => c.length)).toEqual([5, 5, 2]);
    expect(chunks.flat().map((r) => r.i)).toEqual(big.map((r) => r.i));
  });

  it('reports only the records a PutRecords response marks failed, as retryable', () => {
    // The documented shape of a partially failed PutRecords response.
    const out = classifyEntries(
      [
        {
          SequenceNumber: '49543463076548007577105092703039560359975228518395019266',
          ShardId: 'shardId-000000000000',
        },
        {
          ErrorCode: 'ProvisionedThroughputExceededException',
          ErrorMessage:
            'Rate exceeded for shard shardId-000000000001 in stream exampleStreamName under account 111111111111.',
        },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' },
      ],
      'k',
    );
    expect(out[0]).toBeUndefined();
    expect(out[1]?.retryable).toBe(true);
    expect(out[1]?.message).toMatch(/ProvisionedThroughputExceededException/);
    expect(out[2]?.retryable).toBe(true);
  });

  it('uses the event id as partition key by default, or a document field', () => {
    const ev = { id: 'abc', doc: { user: { name: 'jsmith' } } } as unknown as LogEvent;
    const sink = (pk?: string) =>
      new KinesisSink(
        kinesisSinkSchema.parse({ type: 'kinesis', name: 'k', stream: 's', partition_key: pk }),
        {} as never,
      );
    expect(sink().partitionKey(ev)).toBe('abc');
    expect(sink('user.name').partitionKey(ev)).toBe('jsmith');
    expect(sink('source.ip').partitionKey(ev)).toBe('abc');
  });
});

describe('Kinesis sink format: original', () => {
  it('fails an event without an original permanently, naming it, and sends no request for it', async () => {
    const sink = new KinesisSink(
      kinesisSinkSchema.parse({ type: 'kinesis', name: 'k', stream: 's', format: 'original' }),
      // No call may reach the client: the only event cannot be encoded.
      { send: () => Promise.reject(new Error('no call expected')) } as never,
    );
    const ev = { id: 'abc', dataset: 'aws.cloudtrail', doc: {} } as unknown as LogEvent;
    const failures = await sink.write([ev]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ index: 0, retryable: false });
    expect(failures[0]!.error.message).toMatch(/event abc \(aws\.cloudtrail\) has no original/);
  });

  it('accepts ecs and original as format, and refuses anything else', () => {
    const parse = (format: string) =>
      kinesisSinkSchema.safeParse({ type: 'kinesis', name: 'k', stream: 's', format });
    expect(parse('original').success).toBe(true);
    expect(parse('ecs').success).toBe(true);
    expect(
      kinesisSinkSchema.safeParse({ type: 'kinesis', name: 'k', stream: 's', format: 'raw' }).success,
    ).toBe(false);
  });
});
