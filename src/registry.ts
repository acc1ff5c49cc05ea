/**
 * Every component, by config `type`. Schemas load eagerly (they are small and validate the whole
 * config up front); implementations load lazily, so a Lambda bundle pays only for what its
 * config uses. Adding a component = its folder + one line here.
 */
import type { z } from 'zod';
import type { DeadLetterStore, Logger, Parser, Sink, Source, StateStore } from './core/component.js';
import type { Limits } from './core/limits.js';
import type { Metrics } from './core/metrics.js';
import { fileDeadLetterSchema } from './deadletter/file/schema.js';
import { dailyFilesSinkSchema } from './sinks/daily_files/schema.js';
import { stdoutSinkSchema } from './sinks/stdout/schema.js';
import { demoSourceSchema } from './sources/demo/schema.js';
import { inboxSourceSchema } from './sources/inbox/schema.js';
import { kinesisSourceSchema } from './sources/kinesis/schema.js';
import { fileStateSchema } from './state/file/schema.js';

/** What factories may use besides their own config. */
export interface Deps {
  log: Logger;
  limits: Limits;
  metrics: Metrics;
  /** The checkpoint store, for components that keep their own state (sources, windowed rules). */
  state?: StateStore;
}

type Factory<T> = (cfg: never, deps: Deps) => T | Promise<T>;
interface Entry<T> {
  schema: z.ZodObject;
  load: () => Promise<{ create: Factory<T> }>;
}

export const sources = {
  kinesis: { schema: kinesisSourceSchema, load: () => import('./sources/kinesis/index.js') },
  inbox: { schema: inboxSourceSchema, load: () => import('./sources/inbox/index.js') },
  demo: { schema: demoSourceSchema, load: () => import('./sources/demo/index.js') },
} satisfies Record<string, Entry<Source>>;

export const sinks = {
  stdout: { schema: stdoutSinkSchema, load: () => import('./sinks/stdout/index.js') },
  daily_files: { schema: dailyFilesSinkSchema, load: () => import('./sinks/daily_files/index.js') },
} satisfies Record<string, Entry<Sink>>;

export const stateStores = {
  file: { schema: fileStateSchema, load: () => import('./state/file/index.js') },
} satisfies Record<string, Entry<StateStore>>;

export const deadLetterStores = {
  file: { schema: fileDeadLetterSchema, load: () => import('./deadletter/file/index.js') },
} satisfies Record<string, Entry<DeadLetterStore>>;

/** Parsers take free-form options (validated by each parser), so they register without a schema. */
export const parsers: Record<string, () => Promise<{ create: (opts: Record<string, unknown>) => Parser }>> = {
  auto: () => import('./parsers/auto/index.js'),
  cloudwatch_logs: () => import('./parsers/cloudwatch_logs/index.js'),
  json_lines: () => import('./parsers/json_lines/index.js'),
};

export async function createComponent<T>(
  registry: Record<string, Entry<T>>,
  cfg: { type: string },
  deps: Deps,
): Promise<T> {
  const entry = registry[cfg.type];
  if (!entry) throw new Error(`unknown component type '${cfg.type}'`);
  const mod = await entry.load();
  return mod.create(cfg as never, deps);
}
