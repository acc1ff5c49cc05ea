import type { Sink } from '../core/component.js';
import type { Deps } from '../core/contracts.js';
import type { AlertOutputConfig } from './schema.js';
import type { AlertOutput } from './types.js';

/** Alert outputs by config `type`, loaded lazily like every component. */
export const alertOutputs: Record<
  AlertOutputConfig['type'],
  () => Promise<{
    create: (cfg: never, sinks: Map<string, Sink>, deps: Deps) => AlertOutput | Promise<AlertOutput>;
  }>
> = {
  sns: () => import('./sns/index.js'),
  slack: () => import('./slack/index.js'),
  webhook: () => import('./webhook/index.js'),
  sink: () => import('./sink/index.js'),
};

export async function createAlertOutput(
  cfg: AlertOutputConfig,
  sinks: Map<string, Sink>,
  deps: Deps,
): Promise<AlertOutput> {
  const mod = await alertOutputs[cfg.type]();
  return mod.create(cfg as never, sinks, deps);
}
