import type { Sink } from '../../core/component.js';
import type { Alert } from '../../core/contracts.js';
import { ConfigError, DeliveryError } from '../../core/errors.js';
import type { LogEvent } from '../../core/event.js';
import type { AlertFailure, AlertOutput } from '../types.js';
import type { SinkAlertConfig } from './schema.js';

export const ALERTS_DATASET = 'alerts';

/** An alert as an ECS event (`event.kind: alert`), so it can be searched beside the logs. */
export function alertEvent(a: Alert): LogEvent {
  return {
    id: a.id,
    dataset: ALERTS_DATASET,
    timestamp: Date.parse(a.time),
    origin: { source: 'rules', type: 'alert', ref: `rule ${a.rule.id}` },
    doc: {
      '@timestamp': a.time,
      message: a.summary,
      event: {
        id: a.id,
        dataset: ALERTS_DATASET,
        kind: 'alert',
        severity: ['info', 'low', 'medium', 'high', 'critical'].indexOf(a.severity) * 25,
        reference: a.link,
      },
      rule: { id: a.rule.id, name: a.rule.title, description: a.rule.description, ruleset: 'logferry' },
      tags: a.rule.tags,
      logferry: {
        alert: {
          severity: a.severity,
          title: a.title,
          dedup_key: a.dedup_key,
          suppressed: a.suppressed,
          who: a.who,
          where: a.where,
          aggregate: a.aggregate,
          event_id: a.event_id,
          event_dataset: a.dataset,
          origin: a.origin,
        },
      },
      related: { event: a.event },
    },
  };
}

/** Writes alerts to one of the configured sinks. */
export class SinkAlertOutput implements AlertOutput {
  constructor(
    readonly name: string,
    private readonly sink: Sink,
  ) {}

  async send(alerts: readonly Alert[]): Promise<AlertFailure[]> {
    try {
      const failures = await this.sink.write(alerts.map(alertEvent));
      return failures.map((f) => ({ index: f.index, retryable: f.retryable, error: f.error }));
    } catch (e) {
      const err = new DeliveryError(`${this.name}: sink ${this.sink.name} failed`, {
        sink: this.name,
        retryable: true,
        cause: e,
      });
      return alerts.map((_, index) => ({ index, retryable: true, error: err }));
    }
  }

  async close(): Promise<void> {}
}

export function create(cfg: SinkAlertConfig, sinks: Map<string, Sink>): AlertOutput {
  const sink = sinks.get(cfg.sink);
  if (!sink) throw new ConfigError(`alert output '${cfg.name}': no sink named '${cfg.sink}'`);
  return new SinkAlertOutput(cfg.name, sink);
}
