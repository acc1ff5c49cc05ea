import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceContext } from '../../src/core/component.js';
import { defaultLimits } from '../../src/core/limits.js';
import { runBatch } from '../../src/core/pipeline.js';
import { gzipJson, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { CloudWatchLogsParser } from '../../src/parsers/cloudwatch_logs/index.js';
import { memoryLogger } from '../../src/platform/log.js';
import { KinesisSource, type ShardCheckpoint } from '../../src/sources/kinesis/index.js';
import { kinesisSourceSchema } from '../../src/sources/kinesis/schema.js';
import { type KinesisEmulator, startKinesisEmulator } from '../../src/testing/kinesis-emulator.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../src/testing/memory.js';

let k: KinesisEmulator;

beforeAll(async () => {
  k = await startKinesisEmulator();
}, 60_000);
afterAll(async () => {
  await k?.stop();
});

async function stream(name: string, records: number): Promise<number> {
  await k.client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  for (;;) {
    const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const entries = Array.from({ length: records }, (_, i) => ({
    Data: gzipJson(subscriptionMessage({ kind: 'app', count: 5, start: 1_764_000_000_000 + i * 1000 })),
    PartitionKey: `pk${i}`,
  }));
  await k.client.send(new PutRecordsCommand({ StreamName: name, Records: entries }));
  return records * 5;
}

/** A real SDK client against the emulator whose GetRecords fails the way AWS does, as scripted. */
function faultyClient(script: string[]): { client: KinesisClient; calls: string[] } {
  const client = new KinesisClient({
    endpoint: k.endpoint,
    region: k.region,
    credentials: k.credentials,
    requestHandler: new NodeHttpHandler(),
  });
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetRecordsCommand') {
        const fault = script.shift();
        calls.push(fault || 'ok');
        if (fault) throw Object.assign(new Error(`${fault} (injected)`), { name: fault, $fault: 'client' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  return { client, calls };
}

function run(source: KinesisSource, sink: MemorySink, expected: number, state = new MemoryStateStore()) {
  const controller = new AbortController();
  const p = testPipeline({ parser: new CloudWatchLogsParser(), sinks: [sink] });
  const ctx: SourceContext = {
    state,
    signal: controller.signal,
    limits: defaultLimits,
    log: memoryLogger(),
    process: async (b) => {
      const res = await runBatch(b, p);
      if (sink.byId.size >= expected) setTimeout(() => controller.abort(), 300);
      return res;
    },
  };
  return { done: source.run(ctx), state };
}

function config(streamName: string, over: Record<string, unknown> = {}) {
  return kinesisSourceSchema.parse({
    name: 'k',
    type: 'kinesis',
    stream: streamName,
    batch_size: 3,
    ...over,
    poll_interval: '50ms',
    shard_refresh: '200ms',
  });
}

describe('Kinesis consumer under faults', () => {
  it('backs off on throttling and renews an expired iterator without losing a record', async () => {
    const expected = await stream('throttled', 9);
    const { client, calls } = faultyClient(
      [
        'ProvisionedThroughputExceededException',
        'ProvisionedThroughputExceededException',
        'ok-first-read',
        'ExpiredIteratorException',
      ].map((f) => (f.startsWith('ok') ? '' : f)),
    );
    const sink = new MemorySink();
    const { done, state } = run(new KinesisSource(config('throttled'), client), sink, expected);
    await done;
    expect(calls.slice(0, 4)).toEqual([
      'ProvisionedThroughputExceededException',
      'ProvisionedThroughputExceededException',
      'ok',
      'ExpiredIteratorException',
    ]);
    expect(sink.byId.size).toBe(expected);
    // Each record was handed to the sink once: the expired iterator resumed after the checkpoint.
    expect(sink.writes.flat().length).toBe(expected);
    const cp = await state.get<ShardCheckpoint>('kinesis/throttled/shardId-000000000000');
    expect(cp?.sequence).toMatch(/^\d+$/);
  });

  it('keeps the checkpoint behind records a sink has not taken and reads them again', async () => {
    const expected = await stream('sinkdown', 6);
    const sink = new MemorySink().failNext(6, true);
    const { done } = run(new KinesisSource(config('sinkdown'), k.client), sink, expected);
    await done;
    expect(sink.byId.size).toBe(expected);
    // The first batch was refused (3 attempts each time) and read again from the same place.
    expect(sink.writes.length).toBeGreaterThan(4);
  });

  it('commits part-way through a large read, so a crash replays at most commit_every records', async () => {
    const expected = await stream('catchup', 9);
    const puts: (string | undefined)[] = [];
    const state = new MemoryStateStore();
    const put = state.put.bind(state);
    state.put = async <T>(key: string, value: T) => {
      puts.push((value as ShardCheckpoint).sequence);
      await put(key, value);
    };
    const sink = new MemorySink();
    const cfg = config('catchup', { batch_size: 100, commit_every: { records: 2 } });
    const { done } = run(new KinesisSource(cfg, k.client), sink, expected, state);
    await done;
    expect(sink.byId.size).toBe(expected);
    // One GetRecords read of 9 records, committed after every 2 delivered.
    expect(sink.writes.map((w) => w.length)).toEqual([10, 10, 10, 10, 5]);
    expect(new Set(puts).size).toBe(5);
  });
});
