import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeEvent } from '../core/pipeline.js';
import { DailyFilesSink } from '../sinks/daily_files/index.js';
import { dailyFilesSinkSchema } from '../sinks/daily_files/schema.js';
import { LocalStoreSink } from '../sinks/local_store/index.js';
import { localStoreSinkSchema } from '../sinks/local_store/schema.js';
import { runReadOnlySql, type SearchBackend } from './engine.js';
import { filesBackend } from './files.js';
import { parseSearch, SearchSyntaxError } from './syntax.js';

// ALB-shaped documents, as the alb parser produces them (see src/parsers/alb).
const DOCS = [
  {
    path: '/login',
    status: 200,
    ms: 120,
    user: 'alice',
    msg: 'user alice logged in',
    t: '2026-11-25T10:00:00Z',
  },
  {
    path: '/login',
    status: 401,
    ms: 80,
    user: 'bob',
    msg: 'bad password for bob',
    t: '2026-11-25T10:05:00Z',
  },
  {
    path: '/api/report',
    status: 200,
    ms: 950,
    user: 'alice',
    msg: 'report generated',
    t: '2026-11-25T11:00:00Z',
  },
  {
    path: '/api/export',
    status: 500,
    ms: 2300,
    user: 'carol',
    msg: "it's broken; DROP TABLE",
    t: '2026-11-25T12:00:00Z',
  },
];

let dir: string;
let sink: LocalStoreSink;
let backend: SearchBackend;
let files: SearchBackend;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-search-'));
  sink = new LocalStoreSink(
    localStoreSinkSchema.parse({ name: 's', type: 'local_store', path: join(dir, 'e.duckdb') }),
  );
  const events = DOCS.map((d, i) =>
    finalizeEvent(
      {
        dataset: i === 1 ? 'aws.elb' : 'aws.alb',
        timestamp: Date.parse(d.t),
        doc: {
          message: d.msg,
          url: { path: d.path },
          user: { name: d.user },
          http: { response: { status_code: d.status, time_ms: d.ms } },
        },
        idParts: ['search', i],
      },
      { source: 'test', type: 'test', ref: `doc/${i}` },
    ),
  );
  expect(await sink.write(events)).toEqual([]);
  backend = await sink.searchBackend();
  const daily = new DailyFilesSink(
    dailyFilesSinkSchema.parse({
      name: 'd',
      type: 'daily_files',
      path: join(dir, 'logs'),
      retention_days: 0,
    }),
  );
  expect(await daily.write(events)).toEqual([]);
  await daily.close();
  // A line someone else appended by hand: skipped, the rest of the file still searched.
  await appendFile(join(dir, 'logs', 'aws.alb', 'aws.alb-2026-11-25.jsonl'), 'not json\n');
  files = await filesBackend(join(dir, 'logs'), { allowSql: true });
});
afterAll(async () => {
  await files.close();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

const users = async (query: string, range: { from?: string; to?: string } = {}, on = backend) =>
  (
    await on.search({
      query,
      from: range.from ? Date.parse(range.from) : undefined,
      to: range.to ? Date.parse(range.to) : undefined,
    })
  ).hits
    .map(
      (h) =>
        `${(h.doc.user as { name: string }).name}:${(h.doc.http as { response: { status_code: number } }).response.status_code}`,
    )
    .sort();

describe('search syntax', () => {
  it('reads fields, phrases, ranges, boolean operators and groups', () => {
    expect(parseSearch('user.name:alice AND NOT (status:500 OR "bad password")')).toEqual({
      type: 'and',
      items: [
        { type: 'match', field: 'user.name', value: 'alice', wildcard: false },
        {
          type: 'not',
          item: {
            type: 'or',
            items: [
              { type: 'match', field: 'status', value: '500', wildcard: false },
              { type: 'text', value: 'bad password' },
            ],
          },
        },
      ],
    });
    expect(parseSearch('http.response.time_ms:>500')).toEqual({
      type: 'range',
      field: 'http.response.time_ms',
      op: '>',
      value: '500',
    });
    expect(parseSearch('x:[1 TO 5]')).toEqual({ type: 'between', field: 'x', from: '1', to: '5' });
    expect(parseSearch('  ')).toEqual({ type: 'all' });
  });

  it.each([
    ['"unclosed', /unclosed quote at character 1/],
    ['(a OR b', /missing \)/],
    ["a'b:1", /is not a field name/],
    ['user.name:', /a value must follow user.name:/],
    ['AND', /unexpected AND/],
    ['x:[1 TO', /write a range as x:\[from TO to\]/],
    ['('.repeat(40) + 'a' + ')'.repeat(40), /nested groups/],
  ])('refuses %s with the position and the cause', (q, why) => {
    expect(() => parseSearch(q)).toThrow(SearchSyntaxError);
    expect(() => parseSearch(q)).toThrow(why);
  });
});

describe('search over the store', () => {
  it('finds by field, range, phrase, wildcard, dataset and time range', async () => {
    expect(await users('user.name:alice')).toEqual(['alice:200', 'alice:200']);
    expect(await users('http.response.time_ms:>500')).toEqual(['alice:200', 'carol:500']);
    expect(await users('http.response.time_ms:[80 TO 120]')).toEqual(['alice:200', 'bob:401']);
    expect(await users('"bad password"')).toEqual(['bob:401']);
    expect(await users('url.path:/api/*')).toEqual(['alice:200', 'carol:500']);
    expect(await users('dataset:aws.elb')).toEqual(['bob:401']);
    expect(await users('url.path:*')).toHaveLength(4);
    expect(await users('NOT user.name:alice -http.response.status_code:500')).toEqual(['bob:401']);
    expect(
      await users('alice OR carol', { from: '2026-11-25T10:30:00Z', to: '2026-11-25T12:00:00Z' }),
    ).toEqual(['alice:200']);
  });

  it('returns a histogram over the matches and the newest hit first', async () => {
    const r = await backend.search({ query: '' });
    expect(r.total).toBe(4);
    expect(r.hits[0]!.time).toBe('2026-11-25T12:00:00.000Z');
    expect(r.histogram.reduce((a, b) => a + b.count, 0)).toBe(4);
    expect(r.bucket_ms).toBe(300_000);
    // 10:00 to 12:00 in 5-minute buckets, the empty ones included, so the x axis is time.
    expect(r.histogram).toHaveLength(25);
    expect(r.histogram[0]).toEqual({ start: Date.parse('2026-11-25T10:00:00Z'), count: 1 });
    expect(r.histogram[2]).toEqual({ start: Date.parse('2026-11-25T10:10:00Z'), count: 0 });
  });

  it.each([
    "'; DROP TABLE events; --",
    "user.name:\"x' OR '1'='1\"",
    'message:"%"',
    "url.path:a'_*",
    'user.name:"x\\") OR TRUE --"',
  ])('treats %s as a value, never as SQL', async (q) => {
    const r = await backend.search({ query: q });
    expect(r.total).toBeLessThanOrEqual(1);
    expect((await backend.sql('SELECT count(*) AS n FROM events')).rows[0]!.n).toBe('4');
  });

  it('finds a value with quotes and SQL in it literally', async () => {
    expect(await users(`message:"it's broken; DROP TABLE"`)).toEqual(['carol:500']);
  });
});

describe('read-only SQL', () => {
  it.each([
    ['DROP TABLE events', /only SELECT/],
    ['SELECT 1; DROP TABLE events', /one statement, not 2/],
    ["COPY events TO '/tmp/logferry-leak.csv'", /only SELECT|operations are disabled/],
    ["ATTACH '/tmp/other.duckdb' AS o", /only SELECT/],
    ['SET enable_external_access = true', /only SELECT/],
    ["SELECT * FROM read_text('/etc/passwd')", /query: .*(disabled|external)/i],
  ])('refuses %s', async (sql, why) => {
    await expect(backend.sql(sql)).rejects.toThrow(why);
    expect((await backend.sql('SELECT count(*) AS n FROM events')).rows[0]!.n).toBe('4');
  });

  it('answers a SELECT and says when it cut the rows', async () => {
    const r = await backend.sql('SELECT dataset, count(*) AS n FROM events GROUP BY 1 ORDER BY 1', 1);
    expect(r).toEqual({ columns: ['dataset', 'n'], rows: [{ dataset: 'aws.alb', n: '3' }], truncated: true });
  });
});

describe('search over the daily files (no store configured)', () => {
  it.each([
    'user.name:alice',
    'http.response.time_ms:>500',
    '"bad password"',
    'dataset:aws.elb',
    'NOT user.name:alice',
  ])('finds what the store finds for %s', async (q) => {
    expect(await users(q, {}, files)).toEqual(await users(q));
  });

  it('reads only the days of the time range', async () => {
    expect(await users('', { from: '2026-11-26T00:00:00Z' }, files)).toEqual([]);
    expect(await users('', { from: '2026-11-25T11:30:00Z' }, files)).toEqual(['carol:500']);
  });

  it('answers SQL over the same events table', async () => {
    const r = await files.sql('SELECT count(*) AS n FROM events');
    expect(r.rows).toEqual([{ n: '4' }]);
  });
});

describe('query timeout', () => {
  it('interrupts a runaway query with a one-line error while searches go on', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const runaway = await db.connect();
    try {
      const endless = runReadOnlySql(
        runaway,
        'SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1',
        10,
        100,
      );
      // Meanwhile the store answers a search on its own connection.
      expect((await backend.search({ query: 'user.name:bob' })).total).toBe(1);
      await expect(endless).rejects.toThrow(/^query: INTERRUPT Error: Interrupted!?$/);
    } finally {
      runaway.closeSync();
      db.closeSync();
    }
  });
});
