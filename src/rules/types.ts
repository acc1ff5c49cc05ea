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

import type { AggregateFunction, Severity } from '../core/contracts.js';

// Rules code and rule authors' tests name these from here; they are defined in core (see contracts.ts).
export type { AggregateFunction, Alert, Severity } from '../core/contracts.js';
export { SEVERITIES } from '../core/contracts.js';

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
