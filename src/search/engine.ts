import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { loadDuckDB } from './duckdb.js';
import { compileCondition, compileTimeRange, Params } from './sql.js';
import { parseSearch } from './syntax.js';

export interface SearchRequest {
  query: string;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  limit?: number;
}

export interface SearchHit {
  id: string;
  dataset: string;
  time: string;
  doc: Record<string, unknown>;
}

export interface SearchResult {
  total: number;
  hits: SearchHit[];
  /** Event counts per bucket of `bucket_ms`, oldest first; `start` is epoch ms. */
  histogram: { start: number; count: number }[];
  bucket_ms: number;
  took_ms: number;
}

export interface SqlResult {
  columns: string[];
  rows: Record<string, unknown>[];
  truncated: boolean;
}

/** Where searches run: the local_store database, or the daily files read on the fly. */
export interface SearchBackend {
  readonly kind: 'store' | 'files';
  search(req: SearchRequest): Promise<SearchResult>;
  /** One read-only SELECT; refuses anything else. */
  sql(text: string, maxRows?: number): Promise<SqlResult>;
  close(): Promise<void>;
}

export class QueryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueryError';
  }
}

export const MAX_HITS = 500;
export const MAX_SQL_ROWS = 10_000;
/** A search or query taking longer is interrupted: a hostile cross join must not hang the daemon. */
export const QUERY_TIMEOUT_MS = 15_000;
const BUCKETS_MS = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10_800, 21_600, 43_200, 86_400, 604_800].map(
  (s) => s * 1000,
);
const TARGET_BUCKETS = 60;

export function bucketFor(spanMs: number): number {
  return BUCKETS_MS.find((b) => spanMs / b <= TARGET_BUCKETS) ?? BUCKETS_MS.at(-1)!;
}

/**
 * Each search or query on its own connection: the timeout interrupts a connection, and on a
 * shared one it would cut whichever request happened to be running.
 */
export async function withConnection<T>(
  instance: DuckDBInstance,
  f: (c: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const conn = await instance.connect();
  try {
    return await f(conn);
  } finally {
    conn.closeSync();
  }
}

/** A relation with columns id, dataset, ts, doc; may bind its own parameters (file lists). */
export type Relation = (p: Params) => string;

type Row = Record<string, unknown>;

async function withTimeout<T>(
  conn: DuckDBConnection,
  run: () => Promise<T>,
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<T> {
  const timer = setTimeout(() => conn.interrupt(), timeoutMs);
  try {
    return await run();
  } finally {
    clearTimeout(timer);
  }
}

async function rows(conn: DuckDBConnection, build: (p: Params) => string): Promise<Row[]> {
  const p = new Params();
  const sql = build(p);
  const reader = await withTimeout(conn, () => conn.runAndReadAll(sql, p.values));
  return reader.getRowObjectsJson() as Row[];
}

/** Runs a search: the newest hits, the total, and a histogram over the time range. */
export async function runSearch(
  conn: DuckDBConnection,
  relation: Relation,
  req: SearchRequest,
): Promise<SearchResult> {
  const started = performance.now();
  const tree = parseSearch(req.query);
  const limit = Number.isInteger(req.limit) ? Math.max(0, Math.min(req.limit!, MAX_HITS)) : 100;
  const where = (p: Params) =>
    `FROM ${relation(p)} WHERE ${compileCondition(tree, p)} AND ${compileTimeRange(req, p)}`;
  let lo: number;
  let hi: number;
  if (req.from !== undefined) {
    // The dashboard always sends a start: the buckets are known up front and the histogram
    // gives the total, one scan of the events fewer.
    lo = req.from;
    hi = req.to ?? Date.now();
  } else {
    const [summary] = await rows(
      conn,
      (p) => `SELECT count(*) AS n, epoch_ms(min(ts)) AS lo, epoch_ms(max(ts)) AS hi ${where(p)}`,
    );
    if (Number(summary?.n ?? 0) === 0)
      return { total: 0, hits: [], histogram: [], bucket_ms: 60_000, took_ms: 0 };
    lo = Number(summary!.lo);
    hi = req.to ?? Number(summary!.hi) + 1;
  }
  const bucket = bucketFor(Math.max(1, hi - lo));
  const histogram = await rows(conn, (p) => {
    const b = p.add(bucket);
    return `SELECT epoch_ms(ts) // ${b} * ${b} AS start, count(*) AS n ${where(p)} GROUP BY 1 ORDER BY 1`;
  });
  const total = histogram.reduce((sum, r) => sum + Number(r.n), 0);
  const hits =
    total === 0
      ? []
      : await rows(
          conn,
          (p) =>
            `SELECT id, dataset, epoch_ms(ts) AS ms, CAST(doc AS VARCHAR) AS doc ${where(p)} ORDER BY ts DESC, id LIMIT ${p.add(limit)}`,
        );
  return {
    total,
    hits: hits.map((r) => ({
      id: String(r.id),
      dataset: String(r.dataset),
      time: new Date(Number(r.ms)).toISOString(),
      doc: JSON.parse(String(r.doc)) as Record<string, unknown>,
    })),
    histogram: fillBuckets(histogram, lo, hi, bucket),
    bucket_ms: bucket,
    took_ms: Math.round(performance.now() - started),
  };
}

/** Every bucket from `lo` to `hi`, empty ones as 0, so the chart's x axis is time. */
function fillBuckets(rows: Row[], lo: number, hi: number, bucket: number): SearchResult['histogram'] {
  const counts = new Map(rows.map((r) => [Number(r.start), Number(r.n)]));
  const out: SearchResult['histogram'] = [];
  const first = Math.floor(Math.min(lo, ...counts.keys()) / bucket) * bucket;
  const last = Math.max(hi - 1, ...counts.keys());
  for (let t = first; t <= last && out.length <= TARGET_BUCKETS * 2; t += bucket)
    out.push({ start: t, count: counts.get(t) ?? 0 });
  return out;
}

/**
 * Runs one user-written SELECT. Several statements, or any statement that is not a SELECT
 * (INSERT, COPY, ATTACH, SET, PRAGMA…), are refused before they run.
 */
export async function runReadOnlySql(
  conn: DuckDBConnection,
  text: string,
  maxRows = MAX_SQL_ROWS,
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<SqlResult> {
  let statements: Awaited<ReturnType<DuckDBConnection['extractStatements']>>;
  try {
    statements = await conn.extractStatements(text);
  } catch (e) {
    throw new QueryError(`query: ${firstLine(e)}`, { cause: e });
  }
  if (statements.count !== 1) throw new QueryError(`query: send one statement, not ${statements.count}`);
  let prepared: Awaited<ReturnType<typeof statements.prepare>>;
  try {
    prepared = await statements.prepare(0);
  } catch (e) {
    throw new QueryError(`query: ${firstLine(e)}`, { cause: e });
  }
  const { StatementType } = await loadDuckDB();
  if (prepared.statementType !== StatementType.SELECT)
    throw new QueryError('query: only SELECT statements are allowed (the connection is read-only)');
  try {
    const reader = await withTimeout(conn, () => prepared.runAndReadUntil(maxRows + 1), timeoutMs);
    const all = reader.getRowObjectsJson() as Row[];
    return { columns: reader.columnNames(), rows: all.slice(0, maxRows), truncated: all.length > maxRows };
  } catch (e) {
    throw new QueryError(`query: ${firstLine(e)}`, { cause: e });
  } finally {
    prepared.destroySync();
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}
