import { existsSync } from 'node:fs';
import type { App } from '../app.js';
import type { Config } from '../config/schema.js';
import {
  LocalStoreError,
  LocalStoreSink,
  openStoreInstance,
  storeBackend,
} from '../sinks/local_store/index.js';
import type { SearchBackend } from './engine.js';
import { filesBackend } from './files.js';

type SinkConfig = Config['sinks'][number];
const storeConfig = (c: Config) =>
  c.sinks.find((s): s is Extract<SinkConfig, { type: 'local_store' }> => s.type === 'local_store');
const dailyConfig = (c: Config) =>
  c.sinks.find((s): s is Extract<SinkConfig, { type: 'daily_files' }> => s.type === 'daily_files');

/**
 * Search for the daemon: on the local_store it writes (same database, no second lock), else
 * over the daily files. Raw SQL is offered only on the store, whose database cannot read files.
 */
export async function daemonSearchBackend(app: App): Promise<SearchBackend | undefined> {
  for (const sink of app.sinks.values()) if (sink instanceof LocalStoreSink) return sink.searchBackend();
  const daily = dailyConfig(app.config);
  return daily ? filesBackend(daily.path, { allowSql: false }) : undefined;
}

/** Search for the CLI when no daemon runs: the store file opened read-only, or the daily files. */
export async function offlineSearchBackend(config: Config): Promise<SearchBackend | undefined> {
  const store = storeConfig(config);
  if (store) {
    if (!existsSync(store.path))
      throw new LocalStoreError(
        `no store at ${store.path} yet: the daemon creates it with its first events`,
        {
          cause: undefined,
        },
      );
    const instance = await openStoreInstance(store.path, 'read', store.memory_limit);
    return storeBackend(instance, () => instance.closeSync());
  }
  const daily = dailyConfig(config);
  return daily ? filesBackend(daily.path, { allowSql: true }) : undefined;
}
