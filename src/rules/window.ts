import type { StateStore } from '../core/component.js';

/** Windows are kept as this many buckets: counts are exact to window/BUCKETS at the edges. */
export const BUCKETS = 20;

export function bucketWidth(windowMs: number): number {
  return Math.max(1000, Math.ceil(windowMs / BUCKETS));
}

export interface WindowUpdate {
  /** Rule id and group values. */
  key: string;
  /** Event time (ms). */
  ts: number;
  windowMs: number;
  /** 1 per event. */
  count: number;
  /** The summed value (sum), or 1/0 for the ratio's numerator. */
  sum: number;
  /** A value for distinct_count. */
  value?: string;
}

export interface WindowTotals {
  count: number;
  sum: number;
  distinct: number;
}

export interface Claim {
  send: boolean;
  /** When sending: repeats suppressed since the previous alert with this key. */
  suppressed: number;
}

/**
 * Where windowed rules keep their state. The daemon uses memory (saved to the checkpoint store);
 * Lambda uses DynamoDB so concurrent invocations share counts and agree on who alerts.
 */
export interface WindowStore {
  /** Applies the updates in order; returns, per update, the window's totals after it. */
  add(updates: readonly WindowUpdate[]): Promise<WindowTotals[]>;
  /**
   * The same for one update, synchronously, where state is in memory (the update is not kept;
   * the totals returned are read at once: the next call may reuse the object).
   */
  addNow?(u: WindowUpdate): WindowTotals;
  /**
   * Records `value` for the group; true when the group has history and the value was not seen
   * within the window (a user logging in from a new country).
   */
  firstSeen(key: string, value: string, ts: number, windowMs: number): Promise<boolean>;
  /** Asks to alert for `key` at `ts`; `hits` matches are folded into one claim. */
  claim(key: string, ts: number, throttleMs: number, hits: number): Promise<Claim>;
  /** Persists what must survive a restart (no-op where every write is already durable). */
  flush(): Promise<void>;
}

interface Bucket {
  start: number;
  c: number;
  s: number;
  v?: Set<string>;
}

/**
 * One group's window: buckets in time order, plus running totals over them so an in-order event
 * costs O(1) instead of a pass over every bucket.
 */
interface Win {
  width: number;
  /** Latest event time seen: buckets ending a window before it are dropped. */
  maxTs: number;
  /**
   * Oldest first, about BUCKETS of them: an in-order event lands in the last one or a new one after
   * it, eviction takes from the front. (An array: no hashing of float keys per event.)
   */
  buckets: Bucket[];
  /**
   * The first bucket's start (Infinity when none) and the last bucket, copied here so the usual
   * update reads neither the list nor its first bucket: with thousands of windows each of those
   * reads is a cache miss.
   */
  firstStart: number;
  last: Bucket | undefined;
  c: number;
  s: number;
  /** For distinct_count: in how many live buckets each value occurs. */
  values?: Map<string, number>;
}

function newWindow(width: number, maxTs: number): Win {
  return {
    width,
    maxTs,
    buckets: [],
    firstStart: Number.POSITIVE_INFINITY,
    last: undefined,
    c: 0,
    s: 0,
  };
}

function dropBucket(w: Win, b: Bucket): void {
  w.c -= b.c;
  w.s -= b.s;
  if (b.v && w.values)
    for (const v of b.v) {
      const n = (w.values.get(v) ?? 1) - 1;
      if (n <= 0) w.values.delete(v);
      else w.values.set(v, n);
    }
}

/**
 * Dropped buckets, kept to be the next ones made: a bucket lives for a window, long enough to be
 * copied and promoted by the garbage collector, so making fresh ones costs far more than reusing.
 */
const MAX_SPARE = 4096;

/** The bucket starting at `start`, made in its place in time order when missing. */
function bucketAt(w: Win, start: number, spare: Bucket[]): Bucket {
  if (w.last?.start === start) return w.last;
  const list = w.buckets;
  let i = list.length - 1;
  while (i >= 0 && list[i]!.start > start) i--;
  if (i >= 0 && list[i]!.start === start) return list[i]!;
  const b = spare.pop() ?? { start, c: 0, s: 0 };
  b.start = start;
  if (i === list.length - 1) {
    list.push(b);
    w.last = b;
  } else list.splice(i + 1, 0, b);
  w.firstStart = list[0]!.start;
  return b;
}

function addToBucket(w: Win, b: Bucket, u: WindowUpdate): void {
  b.c += u.count;
  b.s += u.sum;
  w.c += u.count;
  w.s += u.sum;
  if (u.value !== undefined) {
    b.v ??= new Set();
    if (!b.v.has(u.value)) {
      b.v.add(u.value);
      w.values ??= new Map();
      w.values.set(u.value, (w.values.get(u.value) ?? 0) + 1);
    }
  }
}

/** Drops the buckets, oldest first, that ended before the horizon. */
function dropExpired(w: Win, horizon: number, spare: Bucket[]): void {
  if (w.firstStart + w.width > horizon) return;
  const list = w.buckets;
  let n = 0;
  while (n < list.length && list[n]!.start + w.width <= horizon) {
    const b = list[n++]!;
    dropBucket(w, b);
    if (spare.length < MAX_SPARE) {
      b.c = 0;
      b.s = 0;
      b.v?.clear();
      spare.push(b);
    }
  }
  if (n === 1) list.shift();
  else if (n > 1) list.splice(0, n);
  w.firstStart = list[0]?.start ?? Number.POSITIVE_INFINITY;
  if (list.length === 0) w.last = undefined;
}

interface Snapshot {
  version: 1;
  windows: [string, number, [number, number, number, string[]?][]][];
  throttles: [string, number, number][];
  seen: [string, [string, number][]][];
}

const STATE_KEY = 'rules.windows';

/** Window state in memory; with a StateStore it is saved on flush and read back at start. */
export class MemoryWindowStore implements WindowStore {
  private windows = new Map<string, Win>();
  private throttles = new Map<string, { until: number; suppressed: number }>();
  private seen = new Map<string, Map<string, number>>();
  private dirty = false;
  private latest = 0;
  private readonly spare: Bucket[] = [];
  /** What addNow returns for an in-order event, refilled each time: no garbage per event. */
  private readonly totals: WindowTotals = { count: 0, sum: 0, distinct: 0 };

  constructor(
    private readonly state?: StateStore,
    private readonly maxKeys = 200_000,
  ) {}

  /** Reads saved state (daemon restart). */
  async load(): Promise<void> {
    const snap = await this.state?.get<Snapshot>(STATE_KEY);
    if (snap?.version !== 1) return;
    for (const [key, width, buckets] of snap.windows) {
      const w = newWindow(width, 0);
      for (const [b, c, sum, v] of [...buckets].sort((x, y) => x[0] - y[0])) {
        const bucket = bucketAt(w, b, this.spare);
        w.maxTs = Math.max(w.maxTs, b);
        addToBucket(w, bucket, { key, ts: b, windowMs: 0, count: c, sum });
        for (const x of v ?? [])
          addToBucket(w, bucket, { key, ts: b, windowMs: 0, count: 0, sum: 0, value: x });
      }
      this.windows.set(key, w);
    }
    for (const [k, until, suppressed] of snap.throttles) this.throttles.set(k, { until, suppressed });
    for (const [k, vals] of snap.seen) this.seen.set(k, new Map(vals));
  }

  async add(updates: readonly WindowUpdate[]): Promise<WindowTotals[]> {
    return updates.map((u) => ({ ...this.addNow(u) }));
  }

  addNow(u: WindowUpdate): WindowTotals {
    this.dirty = true;
    if (u.ts > this.latest) this.latest = u.ts;
    let w = this.windows.get(u.key);
    if (!w) {
      if (this.windows.size >= this.maxKeys) this.sweep();
      w = newWindow(bucketWidth(u.windowMs), u.ts);
      this.windows.set(u.key, w);
    }
    const width = w.width;
    const start = Math.floor(u.ts / width) * width;
    const inOrder = u.ts >= w.maxTs;
    if (inOrder) w.maxTs = u.ts;
    // Buckets that ended a window before the latest event are gone for good; an event that old
    // (a late arrival, a replay) no longer counts. This keeps at most BUCKETS + 1 per group.
    const horizon = w.maxTs - u.windowMs;
    // Dropping first lets the bucket made next be one just dropped; neither touches the other.
    dropExpired(w, horizon, this.spare);
    if (start + width > horizon) addToBucket(w, bucketAt(w, start, this.spare), u);
    if (inOrder) {
      const t = this.totals;
      t.count = w.c;
      t.sum = w.s;
      t.distinct = w.values?.size ?? 0;
      return t;
    }
    // A late event is judged on its own window: the buckets up to its time.
    const totals = { count: 0, sum: 0, distinct: 0 };
    let union: Set<string> | undefined;
    for (const b of w.buckets) {
      if (b.start > u.ts) break;
      if (b.start + width <= u.ts - u.windowMs) continue;
      totals.count += b.c;
      totals.sum += b.s;
      if (b.v) {
        union ??= new Set();
        for (const x of b.v) union.add(x);
      }
    }
    totals.distinct = union?.size ?? 0;
    return totals;
  }

  async firstSeen(key: string, value: string, ts: number, windowMs: number): Promise<boolean> {
    this.dirty = true;
    let m = this.seen.get(key);
    const hadHistory = m !== undefined && [...m.values()].some((t) => t > ts - windowMs);
    if (!m) {
      m = new Map();
      this.seen.set(key, m);
    }
    const last = m.get(value);
    if (last === undefined || ts > last) m.set(value, ts);
    for (const [v, t] of m) if (t <= ts - windowMs) m.delete(v);
    return hadHistory && (last === undefined || last <= ts - windowMs);
  }

  async claim(key: string, ts: number, throttleMs: number, hits: number): Promise<Claim> {
    if (throttleMs <= 0) return { send: true, suppressed: hits - 1 };
    this.dirty = true;
    const t = this.throttles.get(key);
    if (t && ts < t.until) {
      t.suppressed += hits;
      return { send: false, suppressed: 0 };
    }
    if (this.throttles.size >= this.maxKeys)
      for (const [k, x] of this.throttles) if (x.until <= ts && x.suppressed === 0) this.throttles.delete(k);
    this.throttles.set(key, { until: ts + throttleMs, suppressed: hits - 1 });
    return { send: true, suppressed: t?.suppressed ?? 0 };
  }

  /** Suppressed repeats not yet reported, per key (for the close-time summary). */
  pendingSuppressed(): [string, number][] {
    return [...this.throttles].filter(([, t]) => t.suppressed > 0).map(([k, t]) => [k, t.suppressed]);
  }

  private sweep(): void {
    for (const [k, w] of this.windows) {
      if (w.maxTs + w.width * (BUCKETS + 1) < this.latest) this.windows.delete(k);
    }
    // Still full: drop the oldest keys rather than grow without bound.
    for (const k of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(k);
    }
  }

  async flush(): Promise<void> {
    if (!this.state || !this.dirty) return;
    this.dirty = false;
    const snap: Snapshot = {
      version: 1,
      windows: [...this.windows].map(([k, w]) => [
        k,
        w.width,
        w.buckets.map((x) => (x.v?.size ? [x.start, x.c, x.s, [...x.v]] : [x.start, x.c, x.s])),
      ]),
      throttles: [...this.throttles].map(([k, t]) => [k, t.until, t.suppressed]),
      seen: [...this.seen].map(([k, m]) => [k, [...m]]),
    };
    await this.state.put(STATE_KEY, snap);
  }
}
