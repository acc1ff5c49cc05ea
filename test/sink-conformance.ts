/**
 * The one set of tests every sink must pass (DESIGN.md: "every sink also passes
 * test/sink-conformance"). A sink's test file calls `describeSinkConformance(name, setup)`, where
 * `setup` starts a fresh destination (a temp folder, a loopback fake, an emulator bucket) and hands
 * back the sink plus a way to read the destination and to inject faults at the destination.
 *
 * What is checked, in Sink-contract terms:
 * - ordering: events of one write that land in the same place keep their order;
 * - partial failure: a failure at the destination is reported per event (index, retryable),
 *   the other events are delivered, nothing is reported twice;
 * - retry then success: through runBatch, a retryable failure is retried and nothing is lost;
 * - idempotency: the same ids written twice leave one copy;
 * - delivery memory: when another sink fails, a retried item is not sent to this sink again, also
 *   when the retry runs in another process (a Lambda container) with the memory in a state store;
 * - flush on shutdown: close() while a write is in flight still delivers it;
 * - backpressure: write resolves only once the (slow) destination holds the events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Parser, Sink, SinkFailure } from '../src/core/component.js';
import { BoundedDeliveryMemory } from '../src/core/delivery-memory.js';
import type { LogEvent } from '../src/core/event.js';
import { finalizeEvent, runBatch } from '../src/core/pipeline.js';
import { StoredDeliveryMemory } from '../src/runtimes/lambda/stored-memory.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../src/testing/memory.js';

export interface ConformanceHarness {
  sink: Sink;
  /** Event ids the destination holds, in the order it holds them, duplicates kept. */
  readBack(): Promise<string[]>;
  /**
   * The next `times` writes fail retryably at the destination (throttling, outage). With
   * `dataset`, only that dataset's events fail, when the destination can fail part of a write.
   */
  failNext(times: number, dataset?: string): Promise<void> | void;
  /** Makes the destination take `ms` before it holds what was sent. */
  slowDown?(ms: number): void;
  close(): Promise<void>;
}

export interface ConformanceOptions {
  /** The destination can fail some events of a write and keep the rest (a bulk API, a folder per dataset). */
  perEventFailures: boolean;
  /**
   * `true` when a repeated id leaves one copy. A destination that cannot take anything back (a
   * pipe) states why; the suite then checks that repeats carry the same `event.id` so the reader
   * can drop them.
   */
  idempotent: true | { reason: string };
}

export const DATASET = 'conformance.main';
export const OTHER_DATASET = 'conformance.other';
/** One hour of one day, so partitioned sinks put a write's events into one place. */
const BASE_TS = Date.parse('2026-11-25T10:00:00Z');

export function conformanceEvent(n: number, dataset = DATASET, tag = 'c'): LogEvent {
  return finalizeEvent(
    {
      dataset,
      timestamp: BASE_TS + n * 10,
      doc: { message: `conformance event ${n}`, event: { kind: 'event' }, labels: { n: String(n) } },
      idParts: [tag, n],
    },
    { source: 'conformance', type: 'test', ref: `conformance/${n}` },
  );
}

export function conformanceEvents(count: number, dataset = DATASET, tag = 'c', from = 0): LogEvent[] {
  return Array.from({ length: count }, (_, i) => conformanceEvent(from + i, dataset, tag));
}

/** A parser that turns an item whose bytes are "tag:from:count" into those conformance events. */
const conformanceParser: Parser = {
  name: 'conformance',
  *parse(item) {
    const text = item.body.kind === 'bytes' ? item.body.bytes.toString() : '';
    const [tag = 'r', from = '0', count = '0', dataset = DATASET] = text.split(':');
    for (let i = 0; i < Number(count); i++) {
      const n = Number(from) + i;
      yield {
        dataset,
        timestamp: BASE_TS + n * 10,
        doc: { message: `conformance event ${n}`, labels: { n: String(n) } },
        idParts: [tag, n],
      };
    }
  },
};

/** Calls `write` the way the core does: a thrown error fails every event of the write. */
async function writeAll(sink: Sink, events: readonly LogEvent[]): Promise<SinkFailure[]> {
  try {
    return await sink.write(events);
  } catch (e) {
    return events.map((_, index) => ({ index, retryable: true, error: e as Error }));
  }
}

function countBy(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

export function describeSinkConformance(
  name: string,
  setup: () => Promise<ConformanceHarness>,
  opts: ConformanceOptions,
): void {
  describe(`sink conformance: ${name}`, () => {
    let h: ConformanceHarness | undefined;
    const start = async () => {
      h = await setup();
      return h;
    };
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    it('keeps the order of a write', async () => {
      const { sink, readBack } = await start();
      const events = conformanceEvents(50);
      expect(await sink.write(events)).toEqual([]);
      expect(await readBack()).toEqual(events.map((e) => e.id));
    });

    it('reports a failure per event and delivers the rest', async () => {
      const hx = await start();
      const main = conformanceEvents(6, DATASET, 'p');
      const other = conformanceEvents(4, OTHER_DATASET, 'p', 100);
      // Interleaved, so index bookkeeping mistakes show.
      const batch = main.flatMap((e, i) => (other[i] ? [e, other[i]!] : [e]));
      await hx.failNext(1, OTHER_DATASET);
      const failures = await writeAll(hx.sink, batch);
      const failed = failures.map((f) => f.index);
      expect(new Set(failed).size).toBe(failed.length);
      for (const f of failures) {
        expect(f.index).toBeGreaterThanOrEqual(0);
        expect(f.index).toBeLessThan(batch.length);
        expect(f.retryable).toBe(true);
        expect(f.error).toBeInstanceOf(Error);
      }
      const expectedFailed = batch.flatMap((e, i) => (e.dataset === OTHER_DATASET ? [i] : []));
      if (opts.perEventFailures) expect(failed.sort((a, b) => a - b)).toEqual(expectedFailed);
      else expect(failed.length).toBeGreaterThan(0);
      const held = new Set(await hx.readBack());
      batch.forEach((e, i) => {
        if (!failed.includes(i)) expect(held.has(e.id), `event ${i} was reported delivered`).toBe(true);
      });
      if (opts.perEventFailures) for (const i of expectedFailed) expect(held.has(batch[i]!.id)).toBe(false);
    });

    it('delivers everything through runBatch after a retryable failure', async () => {
      const hx = await start();
      await hx.failNext(2);
      const p = testPipeline(
        { parser: conformanceParser, sinks: [hx.sink] },
        { delivery: { maxAttempts: 5, backoff: { baseMs: 1, maxMs: 5 }, chunkEvents: 1000 } },
      );
      const items = [0, 1, 2].map((k) => ({
        ackId: `a${k}`,
        origin: { source: 'conformance', type: 'test', ref: `conformance/item/${k}` },
        body: { kind: 'bytes' as const, bytes: Buffer.from(`r:${k * 10}:10`) },
      }));
      const res = await runBatch({ source: 'conformance', items }, p);
      expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
      expect(p.deadLetter.entries).toEqual([]);
      const ids = await hx.readBack();
      expect(ids).toHaveLength(30);
      expect(countBy(ids).size).toBe(30);
    });

    it('takes each event once when another sink fails and the items are delivered again', async () => {
      const hx = await start();
      // The other sink refuses everything for one whole runBatch (3 attempts), then recovers.
      const other = new MemorySink('other').failNext(3, true);
      const p = testPipeline(
        { parser: conformanceParser, sinks: [hx.sink, other] },
        {
          delivery: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 }, chunkEvents: 1000 },
          memory: new BoundedDeliveryMemory(),
        },
      );
      const items = [0, 1].map((k) => ({
        ackId: `m${k}`,
        origin: { source: 'conformance', type: 'test', ref: `conformance/memory/${k}` },
        body: { kind: 'bytes' as const, bytes: Buffer.from(`m:${k * 10}:10`) },
      }));
      const first = await runBatch({ source: 'conformance', items }, p);
      expect(first.items.map((r) => r.status)).toEqual(['failed', 'failed']);
      const again = await runBatch({ source: 'conformance', items }, p);
      expect(again.items.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      expect(other.byId.size).toBe(20);
      const ids = await hx.readBack();
      expect(ids).toHaveLength(20);
      expect(countBy(ids).size).toBe(20);
    });

    it('takes each event once when the retry runs in another process, the memory kept in a state store', async () => {
      const hx = await start();
      const other = new MemorySink('other').failNext(3, true);
      const state = new MemoryStateStore();
      const log = { debug() {}, info() {}, warn() {}, error() {} };
      const items = [0, 1].map((k) => ({
        ackId: `s${k}`,
        origin: { source: 'conformance', type: 'test', ref: `conformance/stored/${k}` },
        body: { kind: 'bytes' as const, bytes: Buffer.from(`s:${k * 10}:10`) },
      }));
      const invoke = async () => {
        // Each invocation starts from the store alone, as a fresh Lambda container does.
        const key = 'delivery-memory/conformance/shard-0';
        const memory = await StoredDeliveryMemory.load(state, [key], log);
        const p = testPipeline(
          { parser: conformanceParser, sinks: [hx.sink, other] },
          { delivery: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 }, chunkEvents: 1000 }, memory },
        );
        const res = await runBatch({ source: 'conformance', items }, p);
        await memory.settle(res.items.some((r) => r.status === 'failed') ? [key] : []);
        return res.items.map((r) => r.status);
      };
      expect(await invoke()).toEqual(['failed', 'failed']);
      expect(await invoke()).toEqual(['delivered', 'delivered']);
      expect(state.values.size).toBe(0);
      const ids = await hx.readBack();
      expect(ids).toHaveLength(20);
      expect(countBy(ids).size).toBe(20);
    });

    it('writes the same ids twice without a duplicate', async () => {
      const { sink, readBack } = await start();
      const events = conformanceEvents(20, DATASET, 'i');
      expect(await sink.write(events)).toEqual([]);
      expect(await sink.write([...events.slice(10), ...conformanceEvents(5, DATASET, 'i', 20)])).toEqual([]);
      const ids = await readBack();
      const counts = countBy(ids);
      expect(counts.size).toBe(25);
      if (opts.idempotent === true) expect(ids).toHaveLength(25);
      else {
        // Repeats are allowed only as exact copies of the same event id.
        expect(ids).toHaveLength(35);
        for (const e of events.slice(10)) expect(counts.get(e.id)).toBe(2);
      }
    });

    it('delivers a write that is in flight when close() is called', async () => {
      const hx = await start();
      hx.slowDown?.(50);
      const events = conformanceEvents(40, DATASET, 's');
      const writing = hx.sink.write(events);
      const closing = hx.sink.close();
      expect(await writing).toEqual([]);
      await closing;
      expect(await hx.readBack()).toEqual(events.map((e) => e.id));
    });

    it('resolves a write only when the destination holds it', async () => {
      const hx = await start();
      hx.slowDown?.(80);
      for (let round = 0; round < 3; round++) {
        const events = conformanceEvents(10, DATASET, 'b', round * 10);
        expect(await hx.sink.write(events)).toEqual([]);
        // No waiting here: what write() promised must already be there.
        const held = new Set(await hx.readBack());
        for (const e of events) expect(held.has(e.id)).toBe(true);
      }
    });
  });
}
