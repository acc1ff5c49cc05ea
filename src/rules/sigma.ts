import { CLOUDTRAIL_DATASET, cloudtrailField } from './cloudtrail-fields.js';
import { RuleIssue, type YamlPath } from './condition.js';
import { compileGlob, hasWildcard, unescapeValue } from './pattern.js';

/**
 * A subset of Sigma (https://sigmahq.io) for `logsource: {product: aws, service: cloudtrail}`:
 * selections as maps (AND of fields, a list of values = any) or lists of maps (any), `null`
 * for "field absent", modifiers contains / startswith / endswith (wildcards allowed) / re (with
 * i, m, s) / cidr / all / gt / gte / lt / lte / exists / fieldref / cased, and conditions with and / or / not, parentheses, `1 of x*`, `all of x*`, `them`.
 * Anything else is refused by name, never ignored. Strings match case-insensitively, as in Sigma.
 */

type Raw = Record<string, unknown>;
type Cond = Raw | Raw[];

const LEVELS: Record<string, string> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};
const MODIFIERS: Record<string, string> = {
  contains: 'contains',
  startswith: 'startswith',
  endswith: 'endswith',
  re: 'regex',
  cidr: 'cidr',
  gt: 'gt',
  gte: 'gte',
  lt: 'lt',
  lte: 'lte',
};
const KNOWN_KEYS = new Set([
  'title',
  'id',
  'name',
  'status',
  'description',
  'references',
  'author',
  'date',
  'modified',
  'tags',
  'logsource',
  'detection',
  'falsepositives',
  'level',
  'fields',
  'license',
  'related',
  'taxonomy',
  'scope',
  // logferry extensions
  'examples',
  'dataset',
]);

export function isSigma(raw: unknown): boolean {
  return raw !== null && typeof raw === 'object' && 'logsource' in raw && 'detection' in raw;
}

/** Translates a Sigma rule into the logferry rule format (same engine, same checks). */
export function sigmaToRuleFile(s: Raw): Raw {
  for (const k of Object.keys(s))
    if (!KNOWN_KEYS.has(k)) throw new RuleIssue(`unsupported Sigma key '${k}'`, [k]);
  const ls = (s.logsource ?? {}) as Raw;
  if (ls.product !== 'aws' || ls.service !== 'cloudtrail')
    throw new RuleIssue(
      `unsupported Sigma logsource ${JSON.stringify(ls)}: only product aws / service cloudtrail is supported`,
      ['logsource'],
    );
  for (const k of Object.keys(ls))
    if (!['product', 'service', 'category', 'definition'].includes(k))
      throw new RuleIssue(`unsupported Sigma logsource key '${k}'`, ['logsource', k]);
  const det = s.detection as Raw;
  if (!det || typeof det !== 'object') throw new RuleIssue('detection must be a mapping', ['detection']);
  if ('timeframe' in det)
    throw new RuleIssue("unsupported Sigma construct 'timeframe'", ['detection', 'timeframe']);
  const condText = det.condition;
  if (Array.isArray(condText))
    throw new RuleIssue('unsupported Sigma construct: a list of conditions', ['detection', 'condition']);
  if (typeof condText !== 'string')
    throw new RuleIssue('detection.condition must be text', ['detection', 'condition']);
  const selections = new Map<string, Cond>();
  for (const [name, v] of Object.entries(det)) {
    if (name === 'condition') continue;
    selections.set(name, selection(v, ['detection', name]));
  }
  const condition = new ConditionParser(condText, selections).parse();
  const level = typeof s.level === 'string' ? LEVELS[s.level] : undefined;
  if (s.level !== undefined && !level)
    throw new RuleIssue(`unknown Sigma level '${String(s.level)}'`, ['level']);
  const title = typeof s.title === 'string' ? s.title : '';
  const id =
    typeof s.id === 'string' && s.id
      ? `sigma.${s.id.toLowerCase()}`
      : `sigma.${title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '')}`;
  return {
    id,
    title,
    description: typeof s.description === 'string' ? s.description.trim() : '',
    severity: level ?? 'medium',
    tags: Array.isArray(s.tags) ? s.tags.map((t) => String(t).toLowerCase()) : [],
    dataset: s.dataset ?? CLOUDTRAIL_DATASET,
    condition,
    ...(s.examples === undefined ? {} : { examples: s.examples }),
  };
}

function selection(v: unknown, at: YamlPath): Cond {
  if (Array.isArray(v)) {
    if (v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x)))
      return { any: v.map((m, i) => selectionMap(m as Raw, [...at, i])) };
    throw new RuleIssue('unsupported Sigma construct: keyword search (a list of plain values)', at);
  }
  if (v === null || typeof v !== 'object')
    throw new RuleIssue('a Sigma selection must be a mapping or a list of mappings', at);
  return selectionMap(v as Raw, at);
}

/** Modifiers read, in Sigma's order: a value modifier, `all`, and the flags that adjust them. */
interface Modifiers {
  op: string;
  all: boolean;
  cased: boolean;
  /** Inline flags for `re`: i, m, s. */
  flags: string;
}

function modifiers(mods: string[], at: YamlPath): Modifiers {
  const out: Modifiers = { op: 'equals', all: false, cased: false, flags: '' };
  for (const mod of mods) {
    if (mod === 'all') out.all = true;
    else if (mod === 'cased') out.cased = true;
    else if (['i', 'm', 's'].includes(mod) && out.op === 'regex') out.flags += mod;
    else if ((MODIFIERS[mod] || mod === 'exists' || mod === 'fieldref') && out.op === 'equals')
      out.op = MODIFIERS[mod] ?? mod;
    else if (mod === 'expand')
      throw new RuleIssue(
        "unsupported Sigma modifier 'expand': its %placeholders% stand for a site's own values; write them into the rule",
        at,
      );
    else throw new RuleIssue(`unsupported Sigma modifier '${mod}'`, at);
  }
  return out;
}

function selectionMap(m: Raw, at: YamlPath): Raw {
  const tests: Raw[] = [];
  for (const [key, value] of Object.entries(m)) {
    const kat = [...at, key];
    const [name, ...mods] = key.split('|');
    if (!name) throw new RuleIssue(`unsupported Sigma construct: keyword search ('${key}')`, kat);
    const field = cloudtrailField(name);
    const mod = modifiers(mods, kat);
    const values = Array.isArray(value) ? value : [value];
    if (values.some((x) => x !== null && typeof x === 'object'))
      throw new RuleIssue(`unsupported Sigma value for '${key}': nested lists or maps`, kat);
    const one = (vs: unknown[]): Raw => {
      if (vs.length === 1 && vs[0] === null) return { field, exists: false };
      if (vs.includes(null)) return { any: [{ field, exists: false }, one(vs.filter((x) => x !== null))] };
      return valueTest(field, mod, vs, kat);
    };
    tests.push(mod.all ? { all: values.map((x) => one([x])) } : one(values));
  }
  if (tests.length === 0) throw new RuleIssue('empty Sigma selection', at);
  return tests.length === 1 ? tests[0]! : { all: tests };
}

/**
 * One field's test. Sigma compares case-insensitively unless `cased`, and as text: its backends
 * turn every value into a query string, so `'true'` matches a JSON true (see `ignore_case`).
 */
function valueTest(field: string, mod: Modifiers, vs: unknown[], at: YamlPath): Raw {
  const ignore_case = !mod.cased;
  switch (mod.op) {
    case 'equals':
      return { field, in: vs, ignore_case };
    case 'exists':
      if (vs.length !== 1 || typeof vs[0] !== 'boolean')
        throw new RuleIssue("Sigma 'exists' takes true or false", at);
      return { field, exists: vs[0] };
    case 'fieldref':
      if (vs.length !== 1)
        throw new RuleIssue("unsupported Sigma construct: 'fieldref' with a list of fields", at);
      return { field, equals_field: cloudtrailField(String(vs[0])), ignore_case };
    case 'regex': {
      const flags = mod.flags ? `(?${[...new Set(mod.flags)].join('')})` : '';
      return { field, regex: vs.map((v) => flags + String(v)) };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { field, [mod.op]: vs[0] };
    case 'cidr':
      return { field, cidr: vs.map(String) };
    default:
      return textTest(field, mod.op, vs.map(String), ignore_case);
  }
}

/**
 * contains / startswith / endswith: plain values stay string operations; a value with wildcards
 * becomes the whole-text wildcard Sigma means (`contains: 'a*b'` is `*a*b*`).
 */
function textTest(field: string, op: string, vs: string[], ignore_case: boolean): Raw {
  const plain = vs.filter((v) => !hasWildcard(v)).map(unescapeValue);
  const wild = vs
    .filter(hasWildcard)
    .map((v) => (op === 'startswith' ? `${v}*` : op === 'endswith' ? `*${v}` : `*${v}*`));
  const parts: Raw[] = [];
  if (plain.length) parts.push({ field, [op]: plain, ignore_case });
  if (wild.length) parts.push({ field, in: wild, ignore_case });
  return parts.length === 1 ? parts[0]! : { any: parts };
}

class ConditionParser {
  private tokens: string[];
  private pos = 0;
  private readonly at: YamlPath = ['detection', 'condition'];

  constructor(
    text: string,
    private readonly selections: Map<string, Cond>,
  ) {
    if (text.includes('|'))
      throw new RuleIssue(
        `unsupported Sigma construct: aggregation ('${text.slice(text.indexOf('|')).trim()}'); write an 'aggregate' in a logferry rule instead`,
        this.at,
      );
    this.tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  }

  parse(): Cond {
    const c = this.or();
    if (this.pos < this.tokens.length)
      throw new RuleIssue(`unexpected '${this.tokens[this.pos]}' in condition`, this.at);
    return c;
  }

  private peek(): string | undefined {
    return this.tokens[this.pos]?.toLowerCase();
  }

  private or(): Cond {
    const parts = [this.and()];
    while (this.peek() === 'or') {
      this.pos++;
      parts.push(this.and());
    }
    return parts.length === 1 ? parts[0]! : { any: parts };
  }

  private and(): Cond {
    const parts = [this.not()];
    while (this.peek() === 'and') {
      this.pos++;
      parts.push(this.not());
    }
    return parts.length === 1 ? parts[0]! : { all: parts };
  }

  private not(): Cond {
    if (this.peek() === 'not') {
      this.pos++;
      return { not: this.not() };
    }
    return this.atom();
  }

  private atom(): Cond {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new RuleIssue('condition ends too early', this.at);
    if (t === '(') {
      const c = this.or();
      if (this.tokens[this.pos++] !== ')') throw new RuleIssue("missing ')' in condition", this.at);
      return c;
    }
    const lower = t.toLowerCase();
    if (lower === '1' || lower === 'all' || /^\d+$/.test(lower)) {
      if (this.peek() !== 'of') throw new RuleIssue(`unexpected '${t}' in condition`, this.at);
      if (lower !== '1' && lower !== 'all')
        throw new RuleIssue(`unsupported Sigma construct '${t} of' (only '1 of' and 'all of')`, this.at);
      this.pos++;
      const pattern = this.tokens[this.pos++];
      if (!pattern) throw new RuleIssue(`'${t} of' needs a selection name or 'them'`, this.at);
      const names =
        pattern === 'them'
          ? [...this.selections.keys()].filter((n) => !n.startsWith('_'))
          : [...this.selections.keys()].filter(compileGlob(pattern, false));
      if (names.length === 0) throw new RuleIssue(`'${t} of ${pattern}' matches no selection`, this.at);
      const parts = names.map((n) => this.selections.get(n)!);
      if (parts.length === 1) return parts[0]!;
      return lower === 'all' ? { all: parts } : { any: parts };
    }
    if (['and', 'or', 'of', ')'].includes(lower))
      throw new RuleIssue(`unexpected '${t}' in condition`, this.at);
    const sel = this.selections.get(t);
    if (!sel) throw new RuleIssue(`condition names '${t}', which is not a selection in detection`, this.at);
    return sel;
  }
}
