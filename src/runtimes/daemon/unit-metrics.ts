import { UNIT_HEALTH_STATES } from '../../core/component.js';
import { Metrics } from '../../core/metrics.js';
import type { SourceRunner } from './supervisor.js';

/**
 * Per-unit series (Kinesis shards, Duo logs), rendered fresh at each scrape from what the units
 * report, so a shard that is gone stops being exported.
 */
export function unitPrometheus(runners: readonly SourceRunner[], now = Date.now()): string {
  const m = new Metrics();
  for (const r of runners) {
    for (const u of r.unitHealth()) {
      const labels = { source: r.source.name, unit: u.unit };
      m.inc('logferry_unit_events_total', labels, u.events, 'Events delivered per unit (shard, Duo log)');
      m.inc('logferry_unit_errors_total', labels, u.errors, 'Failed reads or deliveries per unit');
      if (u.lagMs !== undefined)
        m.set(
          'logferry_unit_lag_seconds',
          labels,
          u.lagMs / 1000,
          'How far behind the newest data a unit is',
        );
      if (u.checkpointAt !== undefined)
        m.set(
          'logferry_unit_checkpoint_age_seconds',
          labels,
          Math.max(0, now - u.checkpointAt) / 1000,
          'Seconds since a unit last wrote its checkpoint',
        );
      for (const state of UNIT_HEALTH_STATES)
        m.set(
          'logferry_unit_state',
          { ...labels, state },
          u.state === state ? 1 : 0,
          'A unit state (1 = current)',
        );
    }
  }
  const text = m.prometheus();
  return text.trim() ? text : '';
}
