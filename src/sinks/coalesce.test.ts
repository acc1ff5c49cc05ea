import { describe, expect, it } from 'vitest';
import { conformanceEvents } from '../../test/sink-conformance.js';
import type { SinkFailure } from '../core/component.js';
import type { LogEvent } from '../core/event.js';
import { Coalescer } from './coalesce.js';

function recorder(failIds: Set<string> = new Set()) {
  const calls: number[] = [];
  const deliver = async (events: readonly LogEvent[]): Promise<SinkFailure[]> => {
    calls.push(events.length);
    return events.flatMap((e, index) =>
      failIds.has(e.id) ? [{ index, retryable: true, error: new Error(`no ${e.id}`) }] : [],
    );
  };
  return { calls, deliver };
}

describe('coalescing writes', () => {
  it('joins writes that arrive together and gives each writer its own failures', async () => {
    const a = conformanceEvents(3, 'a', 'a');
    const b = conformanceEvents(4, 'b', 'b');
    const r = recorder(new Set([a[1]!.id, b[0]!.id, b[3]!.id]));
    const c = new Coalescer(r.deliver, 20, 1000);
    const [fa, fb] = await Promise.all([c.write(a), c.write(b)]);
    expect(r.calls).toEqual([7]);
    expect(fa.map((f) => f.index)).toEqual([1]);
    expect(fb.map((f) => [f.index, f.error.message])).toEqual([
      [0, `no ${b[0]!.id}`],
      [3, `no ${b[3]!.id}`],
    ]);
  });

  it('flushes at once when enough events wait, and on close', async () => {
    const r = recorder();
    const c = new Coalescer(r.deliver, 60_000, 5);
    await c.write(conformanceEvents(6));
    expect(r.calls).toEqual([6]);
    const pending = c.write(conformanceEvents(2, 'x', 'x'));
    await c.close();
    expect(await pending).toEqual([]);
    expect(r.calls).toEqual([6, 2]);
  });

  it('passes a thrown delivery error to every joined writer', async () => {
    const c = new Coalescer(
      async () => {
        throw new Error('down');
      },
      10,
      100,
    );
    const results = await Promise.allSettled([
      c.write(conformanceEvents(1)),
      c.write(conformanceEvents(1, 'y', 'y')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
