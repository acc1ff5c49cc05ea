import { describe, expect, it } from 'vitest';
import { rng } from '../demo/cwlogs.js';
import { MemoryStateStore } from '../state/memory/index.js';
import { bucketWidth, MemoryWindowStore, type WindowTotals, type WindowUpdate } from './window.js';

/**
 * The window rules written plainly, recomputed from every bucket on each update: what the store's
 * running totals, newest-bucket shortcut and skipped eviction passes must agree with.
 */
class ReferenceWindows {
  private readonly groups = new Map<
    string,
    { width: number; maxTs: number; buckets: Map<number, { c: number; s: number; v: Set<string> }> }
  >();

  add(u: WindowUpdate): WindowTotals {
    let g = this.groups.get(u.key);
    if (!g) {
      g = { width: bucketWidth(u.windowMs), maxTs: u.ts, buckets: new Map() };
      this.groups.set(u.key, g);
    }
    const inOrder = u.ts >= g.maxTs;
    g.maxTs = Math.max(g.maxTs, u.ts);
    const horizon = g.maxTs - u.windowMs;
    const start = Math.floor(u.ts / g.width) * g.width;
    if (start + g.width > horizon) {
      const b = g.buckets.get(start) ?? { c: 0, s: 0, v: new Set<string>() };
      g.buckets.set(start, b);
      b.c += u.count;
      b.s += u.sum;
      if (u.value !== undefined) b.v.add(u.value);
    }
    for (const k of [...g.buckets.keys()]) if (k + g.width <= horizon) g.buckets.delete(k);
    const counted = [...g.buckets].filter(([k]) => inOrder || (k <= u.ts && k + g.width > u.ts - u.windowMs));
    const values = new Set(counted.flatMap(([, b]) => [...b.v]));
    return {
      count: counted.reduce((n, [, b]) => n + b.c, 0),
      sum: counted.reduce((n, [, b]) => n + b.s, 0),
      distinct: values.size,
    };
  }
}

function updates(count: number, seed: number): WindowUpdate[] {
  const r = rng(seed);
  let now = 1_764_000_000_000;
  return Array.from({ length: count }, () => {
    const roll = r();
    // Mostly in order, some late arrivals (up to two windows back), now and then a long pause.
    // Time moves in whole seconds and half the events sit on one, so they land exactly on
    // bucket and window edges.
    if (roll < 0.8) now += Math.floor(r() * 4) * 1000;
    else if (roll < 0.83) now += Math.floor(r() * 300) * 1000;
    const jitter = r() < 0.5 ? 0 : Math.floor(r() * 1000);
    const late = roll >= 0.9 ? Math.floor(r() * 120) * 1000 : 0;
    return {
      key: `k${Math.floor(r() * 3)}`,
      ts: now + jitter - late,
      windowMs: 60_000,
      count: 1,
      sum: Math.floor(r() * 10),
      value: r() < 0.7 ? `v${Math.floor(r() * 12)}` : undefined,
    };
  });
}

describe('MemoryWindowStore', () => {
  it('agrees with windows recomputed from every bucket, across late events and a restart', async () => {
    const state = new MemoryStateStore();
    let store = new MemoryWindowStore(state);
    const reference = new ReferenceWindows();
    const all = updates(5000, 3);
    let late = 0;
    for (const [i, u] of all.entries()) {
      if (i === 2500) {
        await store.flush();
        store = new MemoryWindowStore(state);
        await store.load();
      }
      if (i > 0 && u.ts < all[i - 1]!.ts) late++;
      expect(store.addNow({ ...u }), `update ${i}`).toEqual(reference.add(u));
    }
    expect(late).toBeGreaterThan(300);
  });
});
