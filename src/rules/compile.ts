import { type Cidr, inCidr, parseCidr } from './cidr.js';
import { compileGlob, compileRegex, hasWildcard, type TextTest, unescapeValue } from './pattern.js';
import type { Condition, FieldTest } from './types.js';

export type Doc = Record<string, unknown>;
export type Predicate = (doc: Doc) => boolean;
/** Reads a field: one value, or an array when the path crosses arrays (any element may match). */
export type Accessor = (doc: Doc) => unknown;

/** Longest text a string test looks at: a hostile 10 MB field cannot stall the rules. */
const MAX_TEXT = 65_536;

/**
 * A compiled reader for a dotted path. Arrays on the way fan out (`a.b` over `a: [{b:1},{b:2}]`
 * gives [1, 2]), as Sigma and ECS do for multi-valued fields.
 */
export function accessor(path: string): Accessor {
  const keys = path.split('.');
  if (keys.length === 1) {
    const k = keys[0]!;
    return (doc) => doc[k];
  }
  if (keys.length === 2) {
    const [a, b] = keys as [string, string];
    return (doc) => {
      const x = doc[a];
      if (x === null || typeof x !== 'object') return undefined;
      if (Array.isArray(x)) return fanOut(x, keys, 1);
      return (x as Doc)[b];
    };
  }
  if (keys.length === 3) {
    // The usual depth of rule fields (`aws.cloudtrail.eventName`): unrolled, as for two keys.
    const [a, b, c] = keys as [string, string, string];
    return (doc) => {
      const x = doc[a];
      if (x === null || typeof x !== 'object') return undefined;
      if (Array.isArray(x)) return fanOut(x, keys, 1);
      const y = (x as Doc)[b];
      if (y === null || typeof y !== 'object') return undefined;
      if (Array.isArray(y)) return fanOut(y, keys, 2);
      return (y as Doc)[c];
    };
  }
  if (keys.length === 4) {
    // `aws.cloudtrail.userIdentity.type`, `aws.cloudtrail.requestParameters.*`: as common.
    const [a, b, c, d] = keys as [string, string, string, string];
    return (doc) => {
      const x = doc[a];
      if (x === null || typeof x !== 'object') return undefined;
      if (Array.isArray(x)) return fanOut(x, keys, 1);
      const y = (x as Doc)[b];
      if (y === null || typeof y !== 'object') return undefined;
      if (Array.isArray(y)) return fanOut(y, keys, 2);
      const z = (y as Doc)[c];
      if (z === null || typeof z !== 'object') return undefined;
      if (Array.isArray(z)) return fanOut(z, keys, 3);
      return (z as Doc)[d];
    };
  }
  return (doc) => {
    let cur: unknown = doc;
    for (let i = 0; i < keys.length; i++) {
      if (cur === null || typeof cur !== 'object') return undefined;
      if (Array.isArray(cur)) return fanOut(cur, keys, i);
      cur = (cur as Doc)[keys[i]!];
    }
    return cur;
  };
}

function fanOut(arr: unknown[], keys: string[], from: number): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown, i: number) => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x, i);
      return;
    }
    if (i === keys.length) {
      out.push(v);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    walk((v as Doc)[keys[i]!], i + 1);
  };
  walk(arr, from);
  return out;
}

/** True when any of the field's values passes. */
function some(v: unknown, test: (x: unknown) => boolean): boolean {
  if (Array.isArray(v)) {
    for (const x of v) if (test(x)) return true;
    return false;
  }
  return test(v);
}

/**
 * The text a string test reads. With `ignore_case`, numbers, booleans and mappings are read as
 * their (JSON) text too, as Sigma's backends see them: `publiclyAccessible: 'true'` matches
 * CloudTrail's JSON true, `requestParameters|contains: Suspended` looks inside the mapping.
 */
function textOf(x: unknown, asText: boolean): string | undefined {
  const s =
    typeof x === 'string'
      ? x
      : !asText
        ? undefined
        : isScalar(x)
          ? String(x)
          : x !== null && typeof x === 'object'
            ? JSON.stringify(x)
            : undefined;
  return s !== undefined && s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
}

const isScalar = (x: unknown): x is number | boolean => typeof x === 'number' || typeof x === 'boolean';

function stringTest(t: FieldTest): (x: unknown) => boolean {
  const ic = t.ignoreCase;
  const vals = (t.values as string[]).map((v) => (ic ? v.toLowerCase() : v));
  const norm = ic ? (x: string) => x.toLowerCase() : (x: string) => x;
  const read = (x: unknown) => {
    const s = textOf(x, ic);
    return s === undefined ? undefined : norm(s);
  };
  switch (t.op) {
    case 'contains':
      return (x) => {
        const s = read(x);
        return s !== undefined && vals.some((v) => s.includes(v));
      };
    case 'startswith':
      return (x) => {
        const s = read(x);
        return s !== undefined && vals.some((v) => s.startsWith(v));
      };
    case 'endswith':
      return (x) => {
        const s = read(x);
        return s !== undefined && vals.some((v) => s.endsWith(v));
      };
    case 'regex': {
      const res = (t.values as string[]).map((v) => compileRegex(v, ic));
      return (x) => {
        const s = textOf(x, ic);
        return s !== undefined && res.some((r) => r(s));
      };
    }
    case 'cidr': {
      const ranges = (t.values as string[]).map((v) => parseCidr(v)) as Cidr[];
      return (x) => typeof x === 'string' && ranges.some((r) => inCidr(x, r));
    }
    default:
      throw new Error(`not a string operator: ${t.op}`);
  }
}

/** Equality key: with `ignore_case`, strings, numbers and booleans compare as lower-case text. */
function equalityKey(x: unknown, ic: boolean): unknown {
  if (!ic) return x;
  if (typeof x === 'string') return x.toLowerCase();
  return isScalar(x) ? String(x).toLowerCase() : x;
}

function equalsTest(t: FieldTest): (x: unknown) => boolean {
  const exact = new Set<unknown>();
  const globs: TextTest[] = [];
  const ic = t.ignoreCase;
  for (const v of t.values) {
    if (typeof v === 'string' && hasWildcard(v)) globs.push(compileGlob(v, true));
    else exact.add(equalityKey(typeof v === 'string' ? unescapeValue(v) : v, ic));
  }
  if (globs.length === 0) {
    if (exact.size === 1 && !ic) {
      const only = [...exact][0];
      return (x) => x === only;
    }
    return (x) => exact.has(equalityKey(x, ic));
  }
  return (x) => {
    if (exact.has(equalityKey(x, ic))) return true;
    const s = textOf(x, ic);
    return s !== undefined && globs.some((g) => g(s));
  };
}

/** Sigma's `fieldref`: the field holds the same value as another field of the same event. */
function fieldEqualsTest(t: FieldTest, get: Accessor): Predicate {
  const other = accessor(t.values[0] as string);
  const ic = t.ignoreCase;
  return (doc) => {
    const a = get(doc);
    const b = other(doc);
    if (a === undefined || a === null || b === undefined || b === null) return false;
    const keys = new Set((Array.isArray(b) ? b : [b]).map((y) => equalityKey(y, ic)));
    return some(a, (x) => x !== null && keys.has(equalityKey(x, ic)));
  };
}

function numericTest(t: FieldTest): (x: unknown) => boolean {
  const n = t.values[0] as number;
  // A string (or anything else) where a number is expected never matches.
  switch (t.op) {
    case 'gt':
      return (x) => typeof x === 'number' && x > n;
    case 'gte':
      return (x) => typeof x === 'number' && x >= n;
    case 'lt':
      return (x) => typeof x === 'number' && x < n;
    default:
      return (x) => typeof x === 'number' && x <= n;
  }
}

export function compileTest(t: FieldTest): Predicate {
  const get = accessor(t.field);
  if (t.op === 'exists') {
    const want = t.values[0] === true;
    return (doc) => {
      const v = get(doc);
      const present = Array.isArray(v)
        ? v.some((x) => x !== undefined && x !== null)
        : v !== undefined && v !== null;
      return present === want;
    };
  }
  if (t.op === 'equals_field') return fieldEqualsTest(t, get);
  const test =
    t.op === 'equals' || t.op === 'in'
      ? equalsTest(t)
      : t.op === 'gt' || t.op === 'gte' || t.op === 'lt' || t.op === 'lte'
        ? numericTest(t)
        : stringTest(t);
  return (doc) => {
    const v = get(doc);
    return v !== undefined && some(v, test);
  };
}

export function compileCondition(c: Condition): Predicate {
  if ('all' in c) {
    const parts = c.all.map(compileCondition);
    if (parts.length === 1) return parts[0]!;
    if (parts.length === 2) {
      const [a, b] = parts as [Predicate, Predicate];
      return (d) => a(d) && b(d);
    }
    return (d) => {
      for (const p of parts) if (!p(d)) return false;
      return true;
    };
  }
  if ('any' in c) {
    const parts = c.any.map(compileCondition);
    if (parts.length === 1) return parts[0]!;
    return (d) => {
      for (const p of parts) if (p(d)) return true;
      return false;
    };
  }
  if ('not' in c) {
    const inner = compileCondition(c.not);
    return (d) => !inner(d);
  }
  return compileTest(c);
}

/**
 * An equality every match of a rule needs, so the engine can look the rule up by that field's
 * value instead of trying it on each event. `rest` is what is left to test once the lookup found
 * the rule: the condition without that test (undefined when nothing is left), or the whole
 * condition when the key was inferred from every branch of an `any`.
 */
export interface IndexKey {
  field: string;
  /** Without their `\*` escapes; lower-cased when `ignoreCase`. */
  values: string[];
  ignoreCase: boolean;
  rest: Condition | undefined;
}

/** Every equality a match needs, best first is the engine's choice (see RuleEngine). */
export function indexKeys(c: Condition): IndexKey[] {
  return requiredEqualities(c).map((k) => ({
    field: k.field,
    values: [...k.values],
    ignoreCase: k.ignoreCase,
    rest: k.test ? without(c, k.test) : c,
  }));
}

interface Equality {
  field: string;
  values: Set<string>;
  ignoreCase: boolean;
  /** The test it comes from, when it is one conjunct of the rule (then the lookup replaces it). */
  test?: FieldTest;
}

function requiredEqualities(c: Condition): Equality[] {
  if ('all' in c) return c.all.flatMap(requiredEqualities);
  if ('not' in c) return [];
  if ('any' in c) return commonToBranches(c.any.map(requiredEqualities));
  if (
    (c.op !== 'equals' && c.op !== 'in') ||
    !c.values.every((v) => typeof v === 'string' && !hasWildcard(v))
  )
    return [];
  const values = (c.values as string[]).map((v) => {
    const plain = unescapeValue(v);
    return c.ignoreCase ? plain.toLowerCase() : plain;
  });
  return [{ field: c.field, values: new Set(values), ignoreCase: c.ignoreCase, test: c }];
}

/** `any` needs a field's value in the union of its branches' sets, if every branch needs one. */
function commonToBranches(branches: Equality[][]): Equality[] {
  const [first, ...others] = branches;
  const out: Equality[] = [];
  for (const k of first ?? []) {
    if (out.some((o) => o.field === k.field && o.ignoreCase === k.ignoreCase)) continue;
    const values = new Set(k.values);
    let everywhere = true;
    for (const b of others) {
      const same = b.find((o) => o.field === k.field && o.ignoreCase === k.ignoreCase);
      if (!same) {
        everywhere = false;
        break;
      }
      for (const v of same.values) values.add(v);
    }
    if (everywhere) out.push({ field: k.field, values, ignoreCase: k.ignoreCase });
  }
  return out;
}

/** The condition without one of its conjuncts; undefined when nothing is left. */
function without(c: Condition, test: FieldTest): Condition | undefined {
  if (c === test) return undefined;
  if (!('all' in c)) return c;
  const parts = c.all.map((x) => without(x, test)).filter((x): x is Condition => x !== undefined);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : { all: parts };
}

/**
 * A field every match needs to be present (any top-level test but `exists: false`): rules that
 * cannot be looked up by value are at least skipped, as a group, when that field is absent.
 */
export function requiredField(c: Condition): string | undefined {
  const tests = 'all' in c ? c.all : [c];
  for (const t of tests) if ('field' in t && !(t.op === 'exists' && t.values[0] === false)) return t.field;
  return undefined;
}
