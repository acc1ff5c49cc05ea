import type { DeadLetterStore, Logger } from '../core/component.js';
import { type Alert, SEVERITIES } from '../core/contracts.js';
import { describeError } from '../core/errors.js';
import type { Metrics } from '../core/metrics.js';
import { type BackoffOptions, backoffDelay, sleep } from '../core/retry.js';
import type { RouteConfig } from './schema.js';
import type { AlertFailure, AlertOutput } from './types.js';

export interface RouterOptions {
  routes: RouteConfig[];
  defaultOutputs?: string[];
  maxAttempts: number;
  backoff: BackoffOptions;
  deadLetter: DeadLetterStore;
  log: Logger;
  metrics?: Metrics;
}

export function routeMatches(r: RouteConfig, a: Alert): boolean {
  if (r.min_severity && SEVERITIES.indexOf(a.severity) < SEVERITIES.indexOf(r.min_severity)) return false;
  if (r.severities && !r.severities.includes(a.severity)) return false;
  if (r.rules && !r.rules.includes(a.rule.id)) return false;
  if (
    r.tags &&
    !r.tags.some((t) =>
      t.endsWith('*') ? a.rule.tags.some((x) => x.startsWith(t.slice(0, -1))) : a.rule.tags.includes(t),
    )
  )
    return false;
  return true;
}

/**
 * Sends each alert to the outputs its routes name, retries what can be retried (waiting at least
 * what Retry-After asks), and dead-letters (kind 'alert') what still failed: never drops one.
 */
export class AlertRouter {
  constructor(
    readonly outputs: Map<string, AlertOutput>,
    private readonly o: RouterOptions,
  ) {}

  /** Output names an alert goes to. */
  targets(a: Alert): string[] {
    if (this.o.routes.length === 0) return [...this.outputs.keys()];
    const out = new Set<string>();
    for (const r of this.o.routes) if (routeMatches(r, a)) for (const n of r.outputs) out.add(n);
    if (out.size === 0) for (const n of this.o.defaultOutputs ?? this.outputs.keys()) out.add(n);
    return [...out];
  }

  async deliver(alerts: readonly Alert[]): Promise<void> {
    const per = new Map<string, Alert[]>();
    for (const a of alerts)
      for (const n of this.targets(a)) {
        const list = per.get(n);
        if (list) list.push(a);
        else per.set(n, [a]);
      }
    await Promise.all([...per].map(([n, list]) => this.sendWithRetry(this.outputs.get(n)!, list)));
  }

  private async sendWithRetry(out: AlertOutput, alerts: Alert[]): Promise<void> {
    let pending = alerts;
    for (let attempt = 1; ; attempt++) {
      let failures: AlertFailure[];
      try {
        failures = await out.send(pending);
      } catch (e) {
        failures = pending.map((_, index) => ({ index, retryable: true, error: e as Error }));
      }
      this.o.metrics?.inc(
        'logferry_alerts_sent_total',
        { output: out.name },
        pending.length - failures.length,
        'alerts delivered',
      );
      const retry: Alert[] = [];
      let wait = 0;
      for (const f of failures) {
        const a = pending[f.index]!;
        if (f.retryable && attempt < this.o.maxAttempts) {
          retry.push(a);
          wait = Math.max(wait, f.retryAfterMs ?? 0);
        } else await this.deadLetter(out.name, a, f, attempt);
      }
      if (retry.length === 0) return;
      pending = retry;
      await sleep(Math.max(wait, backoffDelay(attempt, this.o.backoff)));
    }
  }

  private async deadLetter(output: string, a: Alert, f: AlertFailure, attempts: number): Promise<void> {
    const error = describeError(f.error);
    this.o.log.error(
      { output, rule: a.rule.id, alert: a.id },
      `alert not delivered after ${attempts} attempt(s): ${error}`,
    );
    this.o.metrics?.inc('logferry_alert_dead_letters_total', { output }, 1, 'alerts dead-lettered');
    try {
      await this.o.deadLetter.put({
        kind: 'alert',
        source: 'rules',
        sink: output,
        origin: { source: 'rules', type: 'alert', ref: `rule ${a.rule.id} alert ${a.id}` },
        error,
        retryable: f.retryable,
        attempts,
        event: a as unknown as Record<string, unknown>,
      });
    } catch (e) {
      this.o.log.error({ output, alert: a.id }, `alert lost: dead-letter store failed: ${describeError(e)}`);
    }
  }

  async close(): Promise<void> {
    for (const o of this.outputs.values()) await o.close();
  }
}
