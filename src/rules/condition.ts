import { parseCidr } from './cidr.js';
import { checkRegex } from './pattern.js';
import { type Condition, type FieldTest, OPERATORS, type Operator, SYMBOLS } from './types.js';

export type YamlPath = (string | number)[];

/** A problem in a rule file, located by its YAML path (the loader turns it into file:line). */
export class RuleIssue extends Error {
  constructor(
    message: string,
    readonly path: YamlPath,
  ) {
    super(message);
  }
}

const FIELD_PATH = /^[@A-Za-z_][\w@.-]*$/;
const STRING_OPS = new Set<Operator>(['contains', 'startswith', 'endswith', 'regex', 'cidr']);
const NUMERIC_OPS = new Set<Operator>(['gt', 'gte', 'lt', 'lte']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function opName(key: string): Operator | undefined {
  if (key in SYMBOLS) return SYMBOLS[key];
  return (OPERATORS as readonly string[]).includes(key) ? (key as Operator) : undefined;
}

function unknownOp(key: string, at: YamlPath): RuleIssue {
  return new RuleIssue(`unknown operator '${key}' (known: ${OPERATORS.join(', ')}, >, >=, <, <=)`, at);
}

/**
 * Reads a condition written in YAML. Forms:
 * `{all: [...]}`, `{any: [...]}`, `{not: {...}}`, a list (= all),
 * `{field: a.b, contains: x, ignore_case: true}`, and the short map `{a.b: value, c|startswith: y,
 * n: {'>': 2}}` (several keys = all of them). `$name` values come from the rule's params.
 */
export function parseCondition(raw: unknown, at: YamlPath, params: Record<string, unknown>): Condition {
  if (Array.isArray(raw)) {
    if (raw.length === 0) throw new RuleIssue('an empty list of conditions matches nothing', at);
    return { all: raw.map((c, i) => parseCondition(c, [...at, i], params)) };
  }
  if (!isPlainObject(raw)) throw new RuleIssue('a condition must be a mapping or a list', at);
  const keys = Object.keys(raw);
  if (keys.length === 0) throw new RuleIssue('empty condition', at);
  for (const k of ['all', 'any', 'not'] as const) {
    if (!(k in raw)) continue;
    if (keys.length > 1)
      throw new RuleIssue(
        `'${k}' must be alone in its mapping (found also: ${keys.filter((x) => x !== k).join(', ')})`,
        at,
      );
    const v = raw[k];
    if (k === 'not') return { not: parseCondition(v, [...at, k], params) };
    if (!Array.isArray(v) || v.length === 0) throw new RuleIssue(`'${k}' takes a non-empty list`, [...at, k]);
    const parts = v.map((c, i) => parseCondition(c, [...at, k, i], params));
    return k === 'all' ? { all: parts } : { any: parts };
  }
  if ('field' in raw) return parseLongTest(raw, at, params);
  const tests: Condition[] = [];
  for (const key of keys) {
    const [field, op, ...rest] = key.split('|');
    const kat = [...at, key];
    if (rest.length > 0 || !field)
      throw new RuleIssue(`'${key}': write field|operator with one operator`, kat);
    checkFieldPath(field, kat);
    const value = raw[key];
    if (op !== undefined) {
      const o = opName(op);
      if (!o) throw unknownOp(op, kat);
      tests.push(makeTest(field, o, value, false, kat, params));
    } else if (isPlainObject(value)) {
      const entries = Object.entries(value).filter(([k]) => k !== 'ignore_case');
      const ic = value.ignore_case === true;
      if (entries.length === 0) throw new RuleIssue(`'${key}': give an operator`, kat);
      for (const [k, v] of entries) {
        const o = opName(k);
        if (!o) throw unknownOp(k, [...kat, k]);
        tests.push(makeTest(field, o, v, ic, [...kat, k], params));
      }
    } else tests.push(makeTest(field, Array.isArray(value) ? 'in' : 'equals', value, false, kat, params));
  }
  return tests.length === 1 ? tests[0]! : { all: tests };
}

function parseLongTest(
  raw: Record<string, unknown>,
  at: YamlPath,
  params: Record<string, unknown>,
): FieldTest {
  const field = raw.field;
  if (typeof field !== 'string') throw new RuleIssue("'field' must be a dotted field path", [...at, 'field']);
  checkFieldPath(field, [...at, 'field']);
  const ops = Object.keys(raw).filter((k) => k !== 'field' && k !== 'ignore_case');
  if (ops.length === 0) throw new RuleIssue(`field test on '${field}' has no operator`, at);
  const known = ops.map((k) => [k, opName(k)] as const);
  const bad = known.find(([, o]) => !o);
  if (bad) throw unknownOp(bad[0], [...at, bad[0]]);
  if (ops.length > 1)
    throw new RuleIssue(
      `field test on '${field}' has ${ops.length} operators (${ops.join(', ')}); use one per test inside 'all'`,
      at,
    );
  if ('ignore_case' in raw && typeof raw.ignore_case !== 'boolean')
    throw new RuleIssue("'ignore_case' must be true or false", [...at, 'ignore_case']);
  return makeTest(field, known[0]![1]!, raw[ops[0]!], raw.ignore_case === true, [...at, ops[0]!], params);
}

function checkFieldPath(field: string, at: YamlPath): void {
  if (!FIELD_PATH.test(field) || field.includes('..') || field.endsWith('.'))
    throw new RuleIssue(
      `'${field}' is not a field path (write it dotted, like aws.cloudtrail.event_name)`,
      at,
    );
}

function resolveParam(v: unknown, at: YamlPath, params: Record<string, unknown>): unknown {
  if (typeof v === 'string' && /^\$[A-Za-z_]\w*$/.test(v)) {
    const name = v.slice(1);
    if (!(name in params)) throw new RuleIssue(`'${v}' names no entry of the rule's params`, at);
    return params[name];
  }
  return v;
}

function makeTest(
  field: string,
  op: Operator,
  raw: unknown,
  ignoreCase: boolean,
  at: YamlPath,
  params: Record<string, unknown>,
): FieldTest {
  const resolved = resolveParam(raw, at, params);
  const list = Array.isArray(resolved) ? resolved.map((v) => resolveParam(v, at, params)) : [resolved];
  if (list.length === 0) throw new RuleIssue(`'${op}' on '${field}' needs at least one value`, at);
  if (op === 'equals' && Array.isArray(resolved)) op = 'in';
  for (const v of list) {
    if (op === 'exists') {
      if (typeof v !== 'boolean' || list.length > 1) throw new RuleIssue(`'exists' takes true or false`, at);
    } else if (op === 'equals_field') {
      if (typeof v !== 'string' || list.length > 1)
        throw new RuleIssue(`'equals_field' on '${field}' takes one field path`, at);
      checkFieldPath(v, at);
    } else if (NUMERIC_OPS.has(op)) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new RuleIssue(
          `'${op}' on '${field}' compares numbers; ${JSON.stringify(v)} is not a number`,
          at,
        );
    } else if (STRING_OPS.has(op)) {
      if (typeof v !== 'string' && typeof v !== 'number')
        throw new RuleIssue(`'${op}' on '${field}' takes text; ${JSON.stringify(v)} is not`, at);
      if (op === 'regex') {
        const verdict = checkRegex(String(v));
        if (!verdict.ok) throw new RuleIssue(verdict.reason!, at);
      }
      if (op === 'cidr' && !parseCidr(String(v)))
        throw new RuleIssue(`'${v}' is not a CIDR range (like 10.0.0.0/8 or 2001:db8::/32)`, at);
    } else if (v !== null && typeof v === 'object') {
      throw new RuleIssue(
        `'${op}' on '${field}' takes plain values; got ${Array.isArray(v) ? 'a list' : 'a mapping'}`,
        at,
      );
    }
  }
  return { field, op, values: STRING_OPS.has(op) ? list.map(String) : list, ignoreCase, at };
}

/** Every field path a condition reads. */
export function conditionFields(c: Condition, out: FieldTest[] = []): FieldTest[] {
  if ('all' in c) for (const x of c.all) conditionFields(x, out);
  else if ('any' in c) for (const x of c.any) conditionFields(x, out);
  else if ('not' in c) conditionFields(c.not, out);
  else out.push(c);
  return out;
}
