/**
 * Every component, by config `type`. Schemas load eagerly (they are small and validate the whole
 * config up front); implementations load lazily, so a Lambda bundle pays only for what its
 * config uses. Adding a component = its folder + one line here.
 */
import type { z } from 'zod';
import type { DeadLetterStore, Sink, Source, StateStore } from './core/component.js';
import type { Deps } from './core/contracts.js';
import { fileDeadLetterSchema } from './deadletter/file/schema.js';
import { s3DeadLetterSchema } from './deadletter/s3/schema.js';
import { dailyFilesSinkSchema } from './sinks/daily_files/schema.js';
import { firehoseSinkSchema } from './sinks/firehose/schema.js';
import { kinesisSinkSchema } from './sinks/kinesis/schema.js';
import { localStoreSinkSchema } from './sinks/local_store/schema.js';
import { openSearchSinkSchema } from './sinks/opensearch/schema.js';
import { s3ArchiveSinkSchema } from './sinks/s3_archive/schema.js';
import { stdoutSinkSchema } from './sinks/stdout/schema.js';
import { demoSourceSchema } from './sources/demo/schema.js';
import { duoSourceSchema } from './sources/duo/schema.js';
import { httpIntakeSourceSchema } from './sources/http_intake/schema.js';
import { inboxSourceSchema } from './sources/inbox/schema.js';
import { kinesisSourceSchema } from './sources/kinesis/schema.js';
import { s3SqsSourceSchema } from './sources/s3/schema.js';
import { dynamodbStateSchema } from './state/dynamodb/schema.js';
import { fileStateSchema } from './state/file/schema.js';
import { s3StateSchema } from './state/s3/schema.js';

// Factories written before Deps moved to core still name it from here.
export type { Deps } from './core/contracts.js';

type Factory<T> = (cfg: never, deps: Deps) => T | Promise<T>;
interface Entry<T> {
  schema: z.ZodObject;
  load: () => Promise<{ create: Factory<T> }>;
}

export const sources = {
  kinesis: { schema: kinesisSourceSchema, load: () => import('./sources/kinesis/index.js') },
  inbox: { schema: inboxSourceSchema, load: () => import('./sources/inbox/index.js') },
  demo: { schema: demoSourceSchema, load: () => import('./sources/demo/index.js') },
  duo: { schema: duoSourceSchema, load: () => import('./sources/duo/index.js') },
  s3_sqs: { schema: s3SqsSourceSchema, load: () => import('./sources/s3/index.js') },
  http_intake: { schema: httpIntakeSourceSchema, load: () => import('./sources/http_intake/index.js') },
} satisfies Record<string, Entry<Source>>;

export const sinks = {
  stdout: { schema: stdoutSinkSchema, load: () => import('./sinks/stdout/index.js') },
  daily_files: { schema: dailyFilesSinkSchema, load: () => import('./sinks/daily_files/index.js') },
  opensearch: { schema: openSearchSinkSchema, load: () => import('./sinks/opensearch/index.js') },
  s3_archive: { schema: s3ArchiveSinkSchema, load: () => import('./sinks/s3_archive/index.js') },
  firehose: { schema: firehoseSinkSchema, load: () => import('./sinks/firehose/index.js') },
  kinesis: { schema: kinesisSinkSchema, load: () => import('./sinks/kinesis/index.js') },
  local_store: { schema: localStoreSinkSchema, load: () => import('./sinks/local_store/index.js') },
} satisfies Record<string, Entry<Sink>>;

export const stateStores = {
  file: { schema: fileStateSchema, load: () => import('./state/file/index.js') },
  s3: { schema: s3StateSchema, load: () => import('./state/s3/index.js') },
  dynamodb: { schema: dynamodbStateSchema, load: () => import('./state/dynamodb/index.js') },
} satisfies Record<string, Entry<StateStore>>;

export const deadLetterStores = {
  file: { schema: fileDeadLetterSchema, load: () => import('./deadletter/file/index.js') },
  s3: { schema: s3DeadLetterSchema, load: () => import('./deadletter/s3/index.js') },
} satisfies Record<string, Entry<DeadLetterStore>>;

/**
 * Parsers take free-form options (validated by each parser), so they register without a schema;
 * they sit apart so `decode` and decode workers start without every component's schema.
 */
export { parsers } from './parsers/registry.js';

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
