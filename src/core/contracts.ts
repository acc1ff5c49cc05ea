/**
 * Types that components on both sides of a boundary share: factories receive `Deps`, rules emit
 * `Alert`s that alert outputs send. They live in core so that neither side imports the other
 * (registry ↔ sources/sinks, rules ↔ alerts).
 */
import type { Logger, StateStore } from './component.js';
import type { Limits } from './limits.js';
import type { Metrics } from './metrics.js';

/** What factories may use besides their own config. */
export interface Deps {
  log: Logger;
  limits: Limits;
  metrics: Metrics;
  /** The checkpoint store, for components that keep their own state (sources, windowed rules). */
  state?: StateStore;
}

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export type AggregateFunction = 'count' | 'sum' | 'distinct_count' | 'ratio' | 'new_value';

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
