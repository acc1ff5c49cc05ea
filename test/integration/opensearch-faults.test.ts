/**
 * Faults of a search cluster, each ending with every document stored exactly once: throttling,
 * an outage, and a sender that dies after the cluster took a bulk but before it heard back.
 * The cluster is the strict loopback fake, driven through the official client by the sink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Parser } from '../../src/core/component.js';
import { defaultLimits } from '../../src/core/limits.js';
import { Metrics } from '../../src/core/metrics.js';
import { runBatch } from '../../src/core/pipeline.js';
import { memoryLogger } from '../../src/platform/log.js';
import { create } from '../../src/sinks/opensearch/index.js';
import { openSearchSinkSchema } from '../../src/sinks/opensearch/schema.js';
import { testPipeline } from '../../src/testing/memory.js';
import { OpenSearchFake } from '../../src/testing/opensearch-fake.js';

let fake: OpenSearchFake;
afterEach(async () => {
  await fake?.stop();
});

/** "k:n" → n events of item k. */
const parser: Parser = {
  name: 'count',
  *parse(item) {
    const [k, n] = (item.body.kind === 'bytes' ? item.body.bytes.toString() : '').split(':');
    for (let i = 0; i < Number(n); i++)
      yield {
        dataset: 'fault.test',
        timestamp: Date.parse('2026-11-25T10:00:00Z') + i,
        doc: { message: `item ${k} event ${i}`, n: i },
        idParts: [k!, i],
      };
  },
};

function batch(items: number, perItem: number) {
  return {
    source: 'src',
    items: Array.from({ length: items }, (_, k) => ({
      ackId: `i${k}`,
      origin: { source: 'src', type: 'test', ref: `test/${k}` },
      body: { kind: 'bytes' as const, bytes: Buffer.from(`${k}:${perItem}`) },
    })),
  };
}

async function sinkFor(extra: Record<string, unknown> = {}) {
  return create(
    openSearchSinkSchema.parse({
      name: 'search',
      type: 'opensearch',
      endpoint: fake.url,
      max_bulk_docs: 200,
      ...extra,
    }),
  );
}

function pipeline(sink: Awaited<ReturnType<typeof sinkFor>>, maxAttempts = 40) {
  return testPipeline(
    { parser, sinks: [sink] },
    { delivery: { maxAttempts, backoff: { baseMs: 20, maxMs: 250 }, chunkEvents: 500 } },
  );
}

/** Every expected id stored once, nothing else stored, nothing created twice. */
function expectExactlyOnce(expected: number) {
  const ids = fake.docs().map((d) => d.id);
  expect(ids).toHaveLength(expected);
  expect(new Set(ids).size).toBe(expected);
  expect(fake.itemStatuses.get(201)).toBe(expected);
}

describe('opensearch faults: nothing lost, nothing duplicated', () => {
  it('rides out a cluster rejecting 30% of items with 429 for a while', async () => {
    fake = await new OpenSearchFake().start();
    fake.rejectItems(0.3, 1500);
    const metrics = new Metrics();
    const sink = await create(
      openSearchSinkSchema.parse({
        name: 'search',
        type: 'opensearch',
        endpoint: fake.url,
        max_bulk_docs: 200,
      }),
      { metrics, log: memoryLogger(), limits: defaultLimits },
    );
    const p = pipeline(sink);
    const res = await runBatch(batch(10, 300), p);
    await sink.close();
    expect(res.items.every((r) => r.status === 'delivered')).toBe(true);
    expect(p.deadLetter.entries).toEqual([]);
    expect(fake.itemStatuses.get(429)).toBeGreaterThan(500);
    expectExactlyOnce(3000);
    // The sink counted each document answer the cluster gave.
    expect(metrics.get('logferry_opensearch_documents_total', { sink: 'search', outcome: 'retry' })).toBe(
      fake.itemStatuses.get(429),
    );
    expect(metrics.get('logferry_opensearch_documents_total', { sink: 'search', outcome: 'delivered' })).toBe(
      3000,
    );
  });

  for (const how of ['refusing', 'unavailable'] as const) {
    it(`waits for a cluster that is down (${how}) and comes back`, async () => {
      fake = await new OpenSearchFake().start();
      const sink = await sinkFor();
      const p = pipeline(sink);
      await sink.write([]); // a connected client before the outage, as in a running daemon
      await fake.down(how);
      let attemptsWhileDown = 0;
      const back = (async () => {
        while (p.metrics.total('logferry_sink_retries_total') < 3)
          await new Promise((r) => setTimeout(r, 20));
        attemptsWhileDown = p.metrics.total('logferry_sink_retries_total');
        await fake.up();
      })();
      const res = await runBatch(batch(4, 250), p);
      await back;
      await sink.close();
      expect(attemptsWhileDown).toBeGreaterThanOrEqual(3);
      expect(res.items.every((r) => r.status === 'delivered')).toBe(true);
      expect(p.deadLetter.entries).toEqual([]);
      expectExactlyOnce(1000);
    });
  }

  it('gives the batch back when the cluster stays down past the attempts, and a later run completes it', async () => {
    fake = await new OpenSearchFake().start();
    await fake.down('unavailable');
    const first = await sinkFor();
    const res = await runBatch(batch(3, 100), pipeline(first, 3));
    await first.close();
    expect(res.items.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(res.items[0]!.error).toMatch(/^search: deliver: HTTP 503/);
    await fake.up();
    const second = await sinkFor();
    const again = await runBatch(batch(3, 100), pipeline(second));
    await second.close();
    expect(again.items.every((r) => r.status === 'delivered')).toBe(true);
    expectExactlyOnce(300);
  });

  it('leaves no gap and no duplicate when the sender dies mid-flush and the batch is replayed', async () => {
    fake = await new OpenSearchFake().start();
    // The cluster stores the first bulk but the sender never hears back: it is killed while
    // waiting, so its connections die and nothing of the batch is acknowledged.
    fake.applyThenHang(1);
    const dying = await sinkFor({ concurrency: 1 });
    const running = runBatch(batch(5, 200), pipeline(dying, 1));
    while (fake.count() < 200) await new Promise((r) => setTimeout(r, 5));
    await fake.down('refusing');
    const res = await running;
    await dying.close();
    expect(res.items.every((r) => r.status === 'failed')).toBe(true);
    const storedBeforeCrash = fake.count();
    expect(storedBeforeCrash).toBe(200);
    await fake.up();

    // A new process resumes from the last checkpoint: the whole batch again.
    const resumed = await sinkFor();
    const again = await runBatch(batch(5, 200), pipeline(resumed));
    await resumed.close();
    expect(again.items.every((r) => r.status === 'delivered')).toBe(true);
    expect(fake.itemStatuses.get(409)).toBeGreaterThanOrEqual(storedBeforeCrash);
    expectExactlyOnce(1000);
  });
});
