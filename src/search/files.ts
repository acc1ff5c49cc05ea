import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBValue } from '@duckdb/node-api';
import { loadDuckDB } from './duckdb.js';
import {
  QueryError,
  runReadOnlySql,
  runSearch,
  type SearchBackend,
  type SearchResult,
  withConnection,
} from './engine.js';
import { Params } from './sql.js';

const DAY_FILE = /^.+-(\d{4}-\d{2}-\d{2})\.jsonl$/;

/** The daily_files layout read as the relation search expects (id, dataset, ts, doc). */
function filesRelation(files: DuckDBValue) {
  return (p: Params) =>
    `(SELECT json_extract_string(json, '$.event.id') AS id,
             json_extract_string(json, '$.event.dataset') AS dataset,
             TRY_CAST(json_extract_string(json, '$."@timestamp"') AS TIMESTAMP) AS ts,
             json AS doc
      FROM read_ndjson_objects(${p.add(files)}, ignore_errors = true)
      WHERE json IS NOT NULL)`;
}

/** Day files under `root` (one folder per dataset) whose day can hold events between from and to. */
export async function dayFiles(root: string, from?: number, to?: number): Promise<string[]> {
  const first = from === undefined ? '' : new Date(from).toISOString().slice(0, 10);
  const last = to === undefined ? '9999' : new Date(to).toISOString().slice(0, 10);
  const out: string[] = [];
  for (const d of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!d.isDirectory()) continue;
    for (const f of await readdir(join(root, d.name)).catch(() => [] as string[])) {
      const day = DAY_FILE.exec(f)?.[1];
      if (day && day >= first && day <= last) out.push(join(root, d.name, f));
    }
  }
  return out.sort();
}

const EMPTY: SearchResult = { total: 0, hits: [], histogram: [], bucket_ms: 60_000, took_ms: 0 };

/**
 * Search over the daily JSONL files when no local_store is configured: DuckDB in memory reads
 * only the day files of the time range. `sql` is offered to the local CLI user only (`allowSql`),
 * since reading files is on for this database.
 */
export async function filesBackend(root: string, opts: { allowSql: boolean }): Promise<SearchBackend> {
  const { DuckDBInstance, listValue } = await loadDuckDB();
  const instance = await DuckDBInstance.create(':memory:');
  return {
    kind: 'files',
    async search(req) {
      const files = await dayFiles(root, req.from, req.to);
      if (files.length === 0) return EMPTY;
      return withConnection(instance, (c) => runSearch(c, filesRelation(listValue(files)), req));
    },
    async sql(text, maxRows) {
      if (!opts.allowSql)
        throw new QueryError('query: SQL needs a local_store sink; searches work over the daily files');
      const files = await dayFiles(root);
      if (files.length === 0) throw new QueryError(`query: no day files under ${root}`);
      // `events` as in the store, so the same SQL works on both.
      return withConnection(instance, async (c) => {
        const p = new Params();
        await c.run(
          `CREATE TEMP TABLE events AS SELECT * FROM ${filesRelation(listValue(files))(p)}`,
          p.values,
        );
        return runReadOnlySql(c, text, maxRows);
      });
    },
    async close() {
      instance.closeSync();
    },
  };
}
