import {
  type Accessor,
  accessor,
  compileCondition,
  type IndexKey,
  indexKeys,
  type Predicate,
  requiredField,
} from './compile.js';
import type { Rule } from './types.js';
import { ValueMemo } from './value-memo.js';

/**
 * Which rules an event can match, found by lookups instead of trying every rule: a rule whose
 * condition requires `eventName` to be one of a few values is filed under those values, and an
 * event only meets the rules filed under its own `eventName`. The lookup replaces the test it
 * came from, so a rule found this way tests only the rest of its condition.
 */

/** A rule reached through an index; `rest` is what is left of its condition (undefined: nothing). */
export interface Candidate<T> {
  c: T;
  rest: Predicate | undefined;
}

export interface DatasetPlan<T> {
  indexed: FieldIndex<T>[];
  /** Rules tried only when a field they need is present. */
  guarded: { get: Accessor; rules: T[] }[];
  always: T[];
}

/** The rules filed under one field: by exact value, and by lower-cased value for `ignore_case`. */
export class FieldIndex<T> {
  readonly get: Accessor;
  readonly exact = new Map<string, Candidate<T>[]>();
  readonly folded = new Map<string, Candidate<T>[]>();
  /** Exact and folded candidates merged, per event value (null: none). */
  private readonly memo = new ValueMemo<Candidate<T>[] | null>();

  constructor(
    readonly field: string,
    /** Each rule's place in the rule list: candidates are tried in that order. */
    private readonly order: Map<T, number>,
  ) {
    this.get = accessor(field);
  }

  file(key: IndexKey, candidate: Candidate<T>): void {
    const map = key.ignoreCase ? this.folded : this.exact;
    for (const v of new Set(key.values)) {
      const list = map.get(v);
      if (list) list.push(candidate);
      else map.set(v, [candidate]);
    }
  }

  /** The rules filed under one value of the field (not an array: the caller walks those). */
  lookup(v: unknown): Candidate<T>[] | undefined {
    if (this.folded.size === 0) return typeof v === 'string' ? this.exact.get(v) : undefined;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
    if (!this.memo.canKeep(v)) return this.merged(v);
    const known = this.memo.get(v) ?? this.memo.set(v, this.merged(v) ?? null);
    return known ?? undefined;
  }

  /** For a field holding several values (any of them may match): each candidate once. */
  lookupAll(values: readonly unknown[]): Candidate<T>[] {
    const out = new Set<Candidate<T>>();
    for (const v of values) for (const cand of this.lookup(v) ?? []) out.add(cand);
    return [...out];
  }

  /**
   * Exact and case-folded candidates together, in rule order. With `ignore_case` a number or a
   * boolean compares as its lower-case text, as the test itself does.
   */
  private merged(v: string | number | boolean): Candidate<T>[] | undefined {
    const exact = typeof v === 'string' ? this.exact.get(v) : undefined;
    const folded = this.folded.get(String(v).toLowerCase());
    if (!exact || !folded) return exact ?? folded;
    return [...exact, ...folded].sort((a, b) => this.order.get(a.c)! - this.order.get(b.c)!);
  }
}

/**
 * The plan for one dataset's events. Each indexable rule is filed under one field: of those its
 * condition requires, the one rules use with the most distinct values (`eventName` rather than
 * `eventSource`), so an event meets fewer candidates. Without `useIndex` every rule is tried
 * whole on every event: the reference the index is checked against.
 */
export function planFor<T extends { rule: Rule; match: Predicate }>(
  compiled: readonly T[],
  dataset: string,
  useIndex: boolean,
): DatasetPlan<T> {
  const plan: DatasetPlan<T> = { indexed: [], guarded: [], always: [] };
  const rules = compiled.filter((c) => c.rule.datasets.includes(dataset) || c.rule.datasets.includes('*'));
  if (!useIndex) {
    plan.always = rules;
    return plan;
  }
  const keys = new Map(rules.map((c) => [c, indexKeys(c.rule.condition)]));
  const spread = distinctValuesPerField([...keys.values()].flat());
  const order = new Map(rules.map((c, i) => [c, i]));
  const byField = new Map<string, FieldIndex<T>>();
  const byPresence = new Map<string, T[]>();
  for (const c of rules) {
    const key = bestKey(keys.get(c)!, spread);
    if (!key) {
      const need = requiredField(c.rule.condition);
      if (need === undefined) plan.always.push(c);
      else byPresence.set(need, [...(byPresence.get(need) ?? []), c]);
      continue;
    }
    let ix = byField.get(key.field);
    if (!ix) {
      ix = new FieldIndex(key.field, order);
      byField.set(key.field, ix);
    }
    const rest =
      key.rest === undefined
        ? undefined
        : key.rest === c.rule.condition
          ? c.match
          : compileCondition(key.rest);
    ix.file(key, { c, rest });
  }
  plan.indexed = [...byField.values()];
  for (const [field, list] of byPresence) plan.guarded.push({ get: accessor(field), rules: list });
  return plan;
}

function distinctValuesPerField(keys: IndexKey[]): Map<string, number> {
  const values = new Map<string, Set<string>>();
  for (const k of keys) {
    let set = values.get(k.field);
    if (!set) {
      set = new Set();
      values.set(k.field, set);
    }
    for (const v of k.values) set.add(k.ignoreCase ? v : v.toLowerCase());
  }
  return new Map([...values].map(([f, s]) => [f, s.size]));
}

function bestKey(keys: IndexKey[], spread: Map<string, number>): IndexKey | undefined {
  let best: IndexKey | undefined;
  for (const k of keys) if (!best || spread.get(k.field)! > spread.get(best.field)!) best = k;
  return best;
}
