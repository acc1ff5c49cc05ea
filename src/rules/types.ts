/** A parsed condition tree, before compilation. */
export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | FieldTest;

export const OPERATORS = [
  'equals',
  'in',
  'contains',
  'startswith',
  'endswith',
  'regex',
  'cidr',
  'exists',
  'equals_field',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;
export type Operator = (typeof OPERATORS)[number];

/** Symbolic spellings accepted for the numeric operators. */
export const SYMBOLS: Record<string, Operator> = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' };

export interface FieldTest {
  field: string;
  op: Operator;
  /** One value or a list (any of them matches). */
  values: unknown[];
  ignoreCase: boolean;
  /** YAML path of the test, for error messages. */
  at: (string | number)[];
}

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export type AggregateFunction = 'count' | 'sum' | 'distinct_count' | 'ratio' | 'new_value';

export interface Aggregate {
  function: AggregateFunction;
  field?: string;
  /** For `ratio`: the share of matching events that also match this. */
  where?: Condition;
  group_by: string[];
  window: number;
  compare: '>' | '>=' | '<' | '<=';
  threshold: number;
  /** For `ratio`: fewer events than this in the window never alert. */
  min_count: number;
}

/** A rule after loading: what the engine compiles. */
export interface Rule {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  tags: string[];
  datasets: string[];
  condition: Condition;
  aggregate?: Aggregate;
  dedup: { fields: string[]; throttle: number };
  /** URL template with `{field.path}` placeholders, linking back to the event. */
  link?: string;
  /** Fields that name the actor and the place, shown in alerts. */
  who: string[];
  where: string[];
  examples: { match: RuleExample[]; no_match: RuleExample[] };
  /** File the rule came from, with the line of its id. */
  file: string;
  format: 'logferry' | 'sigma';
}

/** An example event: an ECS document, or raw input for a parser. */
export interface RuleExample {
  event?: Record<string, unknown>;
  input?: unknown;
  parser?: string;
  dataset?: string;
  /** For windowed rules: the event is repeated this many times, `step` ms apart. */
  repeat: number;
  step: number;
  /** Fields that differ per repetition: `{user.name: [a, b, c]}` cycles through the list. */
  vary?: Record<string, unknown[]>;
  line: number | string;
}

export interface Alert {
  /** Deterministic: the same incident found twice has the same id. */
  id: string;
  rule: { id: string; title: string; description: string; severity: Severity; tags: string[] };
  severity: Severity;
  title: string;
  /** One readable line: what happened, who, where. */
  summary: string;
  /** Event time of the triggering event (ISO). */
  time: string;
  dataset: string;
  dedup_key: string;
  /** Repeats suppressed by the throttle since the previous alert with this key. */
  suppressed: number;
  /** For windowed rules: the aggregate value and what it was compared with. */
  aggregate?: {
    function: AggregateFunction;
    value: number;
    threshold: number;
    window_ms: number;
    group: Record<string, unknown>;
  };
  who?: string;
  where?: string;
  link?: string;
  event_id: string;
  origin: string;
  /** The triggering event's document. */
  event: Record<string, unknown>;
}
