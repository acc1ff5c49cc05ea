/**
 * The two layouts issue #17 names for the local store, on the same DuckDB SQL as the sink: one
 * `events` table with a dataset column (what local_store does) against one table per dataset
 * (searched across datasets with UNION ALL). BENCH_EVENTS events (default 100k) over 4
 * datasets, writes of 500. Prints insert events/s and median search ms for each layout.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue, listValue } from '@duckdb/node-api';
import { progress } from './lib.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 100_000);
const CHUNK = 500;
const DATASETS = ['aws.alb', 'aws.elb', 'aws.cloudtrail', 'duo.auth'];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const START = Date.parse('2026-11-25T00:00:00Z');
const COLUMNS =
  '(id VARCHAR PRIMARY KEY, dataset VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, day DATE NOT NULL, written DATE NOT NULL, doc JSON NOT NULL)';
const insertInto = (table: string) =>
  `INSERT OR IGNORE INTO ${table} SELECT id, dataset, epoch_ms(ms), CAST(epoch_ms(ms) AS DATE), current_date, CAST(doc AS JSON)
   FROM (SELECT unnest($1::VARCHAR[]) AS id, unnest($2::VARCHAR[]) AS dataset, unnest($3::BIGINT[]) AS ms, unnest($4::VARCHAR[]) AS doc)`;
const tableOf = (dataset: string) => `ev_${dataset.replace(/\W/g, '_')}`;

interface Row {
  id: string;
  dataset: string;
  ms: bigint;
  doc: string;
}
const rows: Row[] = Array.from({ length: COUNT }, (_, i) => ({
  id: `e${i}-${(i * 7919) % 100_003}`,
  dataset: DATASETS[i % DATASETS.length]!,
  ms: BigInt(START + i * 800),
  doc: JSON.stringify({
    '@timestamp': new Date(START + i * 800).toISOString(),
    message: `GET /x ${i}`,
    user: { name: USERS[i % USERS.length] },
    http: { response: { time_ms: (i * 37) % 2000 } },
  }),
}));

async function median(conn: DuckDBConnection, sql: string, params: DuckDBValue[]): Promise<number> {
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    await conn.runAndReadAll(sql, params);
    runs.push(performance.now() - t);
  }
  return Math.round(runs.sort((a, b) => a - b)[1]!);
}

async function measureLayout(dir: string, layout: 'one-table' | 'table-per-dataset') {
  const db = await DuckDBInstance.create(join(dir, `${layout}.duckdb`));
  const conn = await db.connect();
  const tables = layout === 'one-table' ? ['events'] : DATASETS.map(tableOf);
  for (const t of tables) await conn.run(`CREATE TABLE ${t} ${COLUMNS}`);
  const started = performance.now();
  for (let o = 0; o < COUNT; o += CHUNK) {
    const chunk = rows.slice(o, o + CHUNK);
    const groups: [string, Row[]][] =
      layout === 'one-table'
        ? [['events', chunk]]
        : DATASETS.map((d) => [tableOf(d), chunk.filter((r) => r.dataset === d)]);
    await conn.run('BEGIN');
    for (const [t, g] of groups)
      await conn.run(insertInto(t), [
        listValue(g.map((r) => r.id)),
        listValue(g.map((r) => r.dataset)),
        listValue(g.map((r) => r.ms)),
        listValue(g.map((r) => r.doc)),
      ]);
    await conn.run('COMMIT');
  }
  const insertSeconds = (performance.now() - started) / 1000;
  const all =
    layout === 'one-table' ? 'events' : `(${tables.map((t) => `SELECT * FROM ${t}`).join(' UNION ALL ')})`;
  const byUser = `lower(json_extract_string(doc, $1)) = $2`;
  const params = ['$."user"."name"', 'alice'];
  const cross = await median(
    conn,
    `SELECT id, doc FROM ${all} WHERE ${byUser} ORDER BY ts DESC LIMIT 100`,
    params,
  );
  const one =
    layout === 'one-table'
      ? await median(
          conn,
          `SELECT id, doc FROM events WHERE dataset = $3 AND ${byUser} ORDER BY ts DESC LIMIT 100`,
          [...params, 'duo.auth'],
        )
      : await median(
          conn,
          `SELECT id, doc FROM ${tableOf('duo.auth')} WHERE ${byUser} ORDER BY ts DESC LIMIT 100`,
          params,
        );
  conn.closeSync();
  db.closeSync();
  return {
    layout,
    insert_events_per_s: Math.round(COUNT / insertSeconds),
    search_all_ms: cross,
    search_one_dataset_ms: one,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'logferry-bench-layout-'));
try {
  progress(`local-store-layout: ${COUNT} events over ${DATASETS.length} datasets`);
  const results = [await measureLayout(dir, 'one-table'), await measureLayout(dir, 'table-per-dataset')];
  for (const r of results) progress(`  ${JSON.stringify(r)}`);
  console.log(JSON.stringify({ name: 'local-store-layout', results }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
