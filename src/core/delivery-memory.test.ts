import { describe, expect, it } from 'vitest';
import { AutoParser } from '../parsers/auto/index.js';
import { MemorySink, testPipeline } from '../testing/memory.js';
import { BoundedDeliveryMemory } from './delivery-memory.js';
import { runBatch } from './pipeline.js';

const items = [0, 1, 2].map((n) => ({
  ackId: `a${n}`,
  origin: { source: 's', type: 'test', ref: `item ${n}` },
  body: { kind: 'bytes' as const, bytes: Buffer.from(JSON.stringify({ n })) },
}));

function twoSinks(memory?: BoundedDeliveryMemory) {
  const good = new MemorySink('archive');
  const flaky = new MemorySink('search').failNext(3, true);
  const p = testPipeline({ parser: new AutoParser(), sinks: [good, flaky] }, { memory });
  return { good, flaky, p };
}

describe('per-sink delivery memory', () => {
  it('sends a retried item only to the sink that failed', async () => {
    const { good, flaky, p } = twoSinks(new BoundedDeliveryMemory());
    const first = await runBatch({ source: 's', items }, p);
    expect(first.items.every((r) => r.status === 'failed')).toBe(true);
    const again = await runBatch({ source: 's', items }, p);
    expect(again.items.every((r) => r.status === 'delivered')).toBe(true);
    expect(good.writes.flat()).toHaveLength(3);
    expect(flaky.byId.size).toBe(3);
    // Once every sink has them, nothing is kept.
    expect(p.memory?.empty()).toBe(true);
  });

  it('without memory, sends the retried item to every sink again', async () => {
    const { good, p } = twoSinks();
    await runBatch({ source: 's', items }, p);
    await runBatch({ source: 's', items }, p);
    expect(good.writes.flat()).toHaveLength(6);
  });

  it('forgets the oldest entries past its size and entries past their age', () => {
    let now = 0;
    const m = new BoundedDeliveryMemory(2, 1000, () => now);
    m.remember('s', ['a', 'b', 'c']);
    expect(['a', 'b', 'c'].map((id) => m.took('s', id))).toEqual([false, true, true]);
    expect(m.took('other', 'b')).toBe(false);
    now = 1000;
    expect(m.took('s', 'c')).toBe(false);
  });
});
