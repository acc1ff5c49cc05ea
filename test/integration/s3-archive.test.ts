/** The S3 archive sink against s3rver: conformance, partitions, deterministic keys, multipart. */
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeEvent } from '../../src/core/pipeline.js';
import { S3ArchiveSink } from '../../src/sinks/s3_archive/index.js';
import { s3ArchiveSinkSchema } from '../../src/sinks/s3_archive/schema.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';
import { DATASET, describeSinkConformance } from '../sink-conformance.js';

let s3: S3Emulator;
let buckets = 0;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

async function newBucket(): Promise<string> {
  const b = `archive-${++buckets}`;
  await s3.createBucket(b);
  return b;
}

/** A real SDK client whose requests can be failed or slowed for keys matching a test. */
function faultyClient() {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const faults = { failing: 0, match: '', delayMs: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      const key = String((args.input as { Key?: string }).Key ?? '');
      if (faults.failing > 0 && key.includes(faults.match)) {
        faults.failing--;
        throw Object.assign(new Error('Please reduce your request rate.'), {
          name: 'SlowDown',
          $metadata: { httpStatusCode: 503 },
        });
      }
      if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
      return next(args);
    },
    { step: 'initialize', name: 'testFaults' },
  );
  return { client, faults };
}

async function readIds(bucket: string): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await s3.keys(bucket)) {
    const text = gunzipSync(await s3.read(bucket, key)).toString('utf8');
    for (const line of text.split('\n').filter(Boolean))
      ids.push((JSON.parse(line) as { event: { id: string } }).event.id);
  }
  return ids;
}

function sinkFor(bucket: string, client: S3Client, extra: Record<string, unknown> = {}) {
  return new S3ArchiveSink(
    s3ArchiveSinkSchema.parse({ name: 'archive', type: 's3_archive', bucket, aws: s3.aws, ...extra }),
    client,
  );
}

describeSinkConformance(
  's3_archive',
  async () => {
    const bucket = await newBucket();
    const { client, faults } = faultyClient();
    const sink = sinkFor(bucket, client);
    return {
      sink,
      readBack: () => readIds(bucket),
      failNext(times, dataset) {
        // One write touches one object per partition, so "times" writes = "times" objects.
        faults.failing = times;
        faults.match = dataset ? `dataset=${dataset}/` : '';
      },
      slowDown(ms) {
        faults.delayMs = ms;
      },
      async close() {
        await sink.close();
        client.destroy();
      },
    };
  },
  { perEventFailures: true, idempotent: true },
);

const ev = (dataset: string, iso: string, n: number, doc: Record<string, unknown> = {}) =>
  finalizeEvent(
    { dataset, timestamp: Date.parse(iso), doc: { n, ...doc }, idParts: [dataset, n] },
    { source: 's', type: 't', ref: 'r' },
  );

describe('s3 archive', () => {
  it('partitions by dataset, date and hour, gzip NDJSON, one object per partition', async () => {
    const bucket = await newBucket();
    const sink = sinkFor(bucket, s3.client, { prefix: 'arch/' });
    expect(
      await sink.write([
        ev('aws.cloudtrail', '2026-11-25T10:59:59Z', 1),
        ev('aws.cloudtrail', '2026-11-25T11:00:00Z', 2),
        ev('duo.authentication', '2026-11-25T10:15:00Z', 3),
        ev('aws.cloudtrail', '2026-11-25T10:00:00Z', 4),
      ]),
    ).toEqual([]);
    const keys = await s3.keys(bucket);
    expect(keys.map((k) => k.replace(/[^/]+\.ndjson\.gz$/, '*'))).toEqual([
      'arch/dataset=aws.cloudtrail/date=2026-11-25/hour=10/*',
      'arch/dataset=aws.cloudtrail/date=2026-11-25/hour=11/*',
      'arch/dataset=duo.authentication/date=2026-11-25/hour=10/*',
    ]);
    const first = gunzipSync(await s3.read(bucket, keys[0]!)).toString('utf8');
    expect(
      first
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).n),
    ).toEqual([1, 4]);
    const pathStyle = sinkFor(await newBucket(), s3.client, { partitioning: 'path' });
    await pathStyle.write([ev('aws.vpcflow', '2026-01-02T03:04:05Z', 9)]);
  });

  it('keeps a dataset one key segment: separators become _, and . or .. are refused for good', async () => {
    const bucket = await newBucket();
    const sink = sinkFor(bucket, s3.client, { prefix: 'arch/', partitioning: 'path' });
    const failures = await sink.write([
      ev('../../outside', '2026-11-25T10:00:00Z', 1),
      ev('..', '2026-11-25T10:00:00Z', 2),
      ev('app', '2026-11-25T10:00:00Z', 3),
    ]);
    expect(failures.map((f) => [f.index, f.retryable, f.error.message])).toEqual([
      [1, false, 'dataset ".." cannot be used as a name'],
    ]);
    expect((await s3.keys(bucket)).map((k) => k.replace(/[^/]+\.ndjson\.gz$/, '*'))).toEqual([
      'arch/.._.._outside/2026/11/25/10/*',
      'arch/app/2026/11/25/10/*',
    ]);
  });

  it('sends a failed batch again onto the same key, even from a new process', async () => {
    const bucket = await newBucket();
    const events = [1, 2, 3].map((n) => ev(DATASET, '2026-11-25T10:00:00Z', n));
    await sinkFor(bucket, s3.client).write(events);
    const before = await s3.keys(bucket);
    // A restarted sender replays the same batch (in another order): same key, overwritten.
    await sinkFor(bucket, s3.client).write([...events].reverse());
    expect(await s3.keys(bucket)).toEqual(before);
    expect((await readIds(bucket)).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('uploads a big object in parts', async () => {
    const bucket = await newBucket();
    const { client } = faultyClient();
    const calls: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    // Random payloads do not compress: about 6 MB of gzip for two 5 MiB parts.
    const events = Array.from({ length: 2000 }, (_, n) =>
      ev(DATASET, '2026-11-25T10:00:00Z', n, { blob: randomBytes(4000).toString('base64') }),
    );
    expect(await sinkFor(bucket, client, { part_size: 5 * 1024 * 1024 }).write(events)).toEqual([]);
    expect(calls).toContain('CreateMultipartUploadCommand');
    expect(calls.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(2);
    expect(calls).toContain('CompleteMultipartUploadCommand');
    expect(await readIds(bucket)).toEqual(events.map((e) => e.id));
    client.destroy();
  });
});
