import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Sink, SinkFailure } from '../../core/component.js';
import { DeliveryError } from '../../core/errors.js';
import type { LogEvent } from '../../core/event.js';
import { PRIVATE_MODES } from '../../platform/fsutil.js';
import { loadDuckDB } from '../../search/duckdb.js';
import { runReadOnlySql, runSearch, type SearchBackend, withConnection } from '../../search/engine.js';
import type { LocalStoreSinkConfig } from './schema.js';

/**
 * One table for every dataset, the document as JSON. Measured against a table per dataset
 * (bench/local-store-layout.bench.ts, 100k events over 4 datasets): one table inserts about
 * twice as fast (one statement per write instead of one per dataset) and searches across
 * datasets as fast; a table per dataset is faster only for searches within one dataset.
 * DuckDB's zone maps on `ts` and `day` skip old row groups much as day partitions would.
 */
const CREATE = `CREATE TABLE IF NOT EXISTS events (
  id VARCHAR PRIMARY KEY,
  dataset VARCHAR NOT NULL,
  ts TIMESTAMP NOT NULL,
  day DATE NOT NULL,
  written DATE NOT NULL,
  doc JSON NOT NULL
)`;

// The primary key makes a replayed event (same id, after a crash or a retry) a no-op. A table has
// no order of its own: readers order by `ts` (searches, the conformance read-back).
const INSERT = `INSERT OR IGNORE INTO events
  SELECT id, dataset, epoch_ms(ms), CAST(epoch_ms(ms) AS DATE), current_date, CAST(doc AS JSON)
  FROM (SELECT unnest($1::VARCHAR[]) AS id, unnest($2::VARCHAR[]) AS dataset,
               unnest($3::BIGINT[]) AS ms, unnest($4::VARCHAR[]) AS doc)`;

const RETENTION = 'DELETE FROM events WHERE day < $1::DATE AND written < $1::DATE';

export class LocalStoreError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'LocalStoreError';
  }
}

/** Opens a store file for the daemon (read-write) or for `logferry query` (read-only). */
export async function openStoreInstance(
  path: string,
  mode: 'write' | 'read',
  memoryLimit?: string,
): Promise<DuckDBInstance> {
  if (mode === 'write') await mkdir(dirname(path), { recursive: true, mode: PRIVATE_MODES.dir }); // the store holds every event
  const { DuckDBInstance } = await loadDuckDB();
  try {
    return await DuckDBInstance.create(path, {
      access_mode: mode === 'write' ? 'READ_WRITE' : 'READ_ONLY',
      // User SQL runs on this database: no reading or writing files, no extensions, no SET back.
      enable_external_access: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      ...(memoryLimit ? { memory_limit: memoryLimit } : {}),
      lock_configuration: 'true',
    });
  } catch (e) {
    throw new LocalStoreError(
      `cannot open ${path} (${mode}): ${String((e as Error).message).split('\n')[0]}`,
      {
        cause: e,
      },
    );
  }
}

/** Search and read-only SQL over a store database. */
export function storeBackend(instance: DuckDBInstance, onClose: () => void = () => undefined): SearchBackend {
  return {
    kind: 'store',
    search: (req) => withConnection(instance, (c) => runSearch(c, () => 'events', req)),
    sql: (text, maxRows) => withConnection(instance, (c) => runReadOnlySql(c, text, maxRows)),
    async close() {
      onClose();
    },
  };
}

/**
 * The embedded store: events in a DuckDB file, searchable from the dashboard and
 * `logferry search|query`. The daemon holds the only write connection (DuckDB allows one writer
 * per file); searches run on a second connection of the same database.
 */
export class LocalStoreSink implements Sink {
  readonly name: string;
  private instance: DuckDBInstance | undefined;
  private writer: DuckDBConnection | undefined;
  private backend: SearchBackend | undefined;
  private opening: Promise<void> | undefined;
  /** One write at a time: sources deliver concurrently, and retention must not interleave. */
  private queue: Promise<unknown> = Promise.resolve();
  private lastRetentionDay = '';
  private closed = false;

  constructor(private readonly cfg: LocalStoreSinkConfig) {
    this.name = cfg.name;
  }

  private open(): Promise<void> {
    this.opening ??= (async () => {
      this.instance = await openStoreInstance(this.cfg.path, 'write', this.cfg.memory_limit);
      this.writer = await this.instance.connect();
      await this.writer.run(CREATE);
    })().catch((e) => {
      this.opening = undefined;
      throw e;
    });
    return this.opening;
  }

  /** Searches and SQL on this store, sharing the daemon's database (no second file lock). */
  async searchBackend(): Promise<SearchBackend> {
    await this.open();
    this.backend ??= storeBackend(this.instance!);
    return this.backend;
  }

  /** Another connection to the database, for maintenance and tests. */
  async connect(): Promise<DuckDBConnection> {
    await this.open();
    return this.instance!.connect();
  }

  write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const closed = this.closed;
    const run = this.queue.then(() => this.insert(events, closed));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async insert(events: readonly LogEvent[], closed: boolean): Promise<SinkFailure[]> {
    if (events.length === 0) return [];
    try {
      if (closed) throw new Error('the store is closed');
      await this.open();
      const seen = new Set<string>();
      const cols: [string[], string[], bigint[], string[]] = [[], [], [], []];
      for (const e of events) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        cols[0].push(e.id);
        cols[1].push(e.dataset);
        cols[2].push(BigInt(Number.isFinite(e.timestamp) ? Math.trunc(e.timestamp) : 0));
        cols[3].push(JSON.stringify(e.doc));
      }
      const { listValue } = await loadDuckDB();
      await this.writer!.run(
        INSERT,
        cols.map((c) => listValue(c)),
      );
    } catch (e) {
      const err = new DeliveryError(
        `cannot write to ${this.cfg.path}: ${String((e as Error).message).split('\n')[0]}`,
        {
          sink: this.name,
          retryable: true,
          cause: e,
        },
      );
      return events.map((_, index) => ({ index, retryable: true, error: err }));
    }
    await this.retentionOncePerDay();
    return [];
  }

  private async retentionOncePerDay(): Promise<void> {
    const today = new Date().toISOString().slice(0, 10);
    if (today === this.lastRetentionDay) return;
    this.lastRetentionDay = today;
    await this.applyRetention(today);
  }

  /** Deletes the days past retention; returns how many events went. */
  async applyRetention(today: string): Promise<number> {
    if (this.cfg.retention_days === 0) return 0;
    await this.open();
    const cutoff = new Date(Date.parse(today) - this.cfg.retention_days * 86_400_000)
      .toISOString()
      .slice(0, 10);
    const res = await this.writer!.run(RETENTION, [cutoff]);
    return Number(res.rowsChanged);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.backend?.close();
    this.backend = undefined;
    if (this.writer) {
      // Folds the write-ahead log into the file, so a read-only open afterwards has nothing to replay.
      await this.writer.run('CHECKPOINT').catch(() => undefined);
      this.writer.closeSync();
    }
    this.instance?.closeSync();
    this.writer = undefined;
    this.instance = undefined;
    this.opening = undefined;
  }
}

export function create(cfg: LocalStoreSinkConfig): Sink {
  return new LocalStoreSink(cfg);
}
