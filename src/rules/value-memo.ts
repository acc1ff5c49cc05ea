/**
 * Something computed from a field's value, remembered per value: event fields repeat (the same
 * few hundred `eventName`s, users, addresses), so the hot path computes each once. Bounded, as
 * every input is hostile: a field of unique values empties the memo when it fills, and long
 * texts are never kept (the memo must not hold a 10 MB string).
 */
export class ValueMemo<V> {
  private readonly map = new Map<string | number | boolean | null | undefined, V>();

  constructor(
    private readonly maxEntries = 4096,
    private readonly maxText = 256,
  ) {}

  /** Whether `v` may be remembered: a scalar, and not a long text. */
  canKeep(v: unknown): v is string | number | boolean | null | undefined {
    return typeof v === 'string' ? v.length <= this.maxText : v === null || typeof v !== 'object';
  }

  get(v: string | number | boolean | null | undefined): V | undefined {
    return this.map.get(v);
  }

  set(v: string | number | boolean | null | undefined, value: V): V {
    if (this.map.size >= this.maxEntries) this.map.clear();
    this.map.set(v, value);
    return value;
  }
}
