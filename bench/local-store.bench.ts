/**
 * The embedded store on BENCH_EVENTS (default 100k) web-access events: insert throughput of the
 * local_store sink in writes of 500 events (the default chunk), against the daily_files sink
 * (the baseline: what a log host had before), then the latency of typical searches on the store
 * and, for comparison, the same searches over the day files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sink } from '../src/core/component.js';
import type { LogEvent } from '../src/core/event.js';
import { finalizeEvent } from '../src/core/pipeline.js';
import type { SearchBackend } from '../src/search/engine.js';
import { filesBackend } from '../src/search/files.js';
import { DailyFilesSink } from '../src/sinks/daily_files/index.js';
import { dailyFilesSinkSchema } from '../src/sinks/daily_files/schema.js';
import { LocalStoreSink } from '../src/sinks/local_store/index.js';
import { localStoreSinkSchema } from '../src/sinks/local_store/schema.js';
import { measure, progress, result } from './lib.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 100_000);
const CHUNK = 500;
const START = Date.parse('2026-11-25T00:00:00Z');
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const PATHS = ['/login', '/logout', '/api/report', '/api/export', '/static/app.js', '/health'];

function events(): LogEvent[] {
  return Array.from({ length: COUNT }, (_, i) =>
    finalizeEvent(
      {
        dataset: i % 3 === 0 ? 'aws.elb' : 'aws.alb',
        timestamp: START + i * 800,
        doc: {
          message: `${i % 7 === 0 ? 'POST' : 'GET'} ${PATHS[i % PATHS.length]} ${i % 53 === 0 ? 500 : 200}`,
          source: { ip: `10.0.${i % 250}.${(i * 7) % 250}` },
          user: { name: USERS[i % USERS.length] },
          url: { path: PATHS[i % PATHS.length] },
          http: { response: { status_code: i % 53 === 0 ? 500 : 200, time_ms: (i * 37) % 2000 } },
          user_agent: { original: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36' },
        },
        idParts: ['bench', i],
      },
      { source: 'bench', type: 'bench', ref: `bench/${i}` },
    ),
  );
}

async function writeAll(sink: Sink, all: LogEvent[]): Promise<void> {
  for (let i = 0; i < all.length; i += CHUNK) {
    const failures = await sink.write(all.slice(i, i + CHUNK));
    if (failures.length) throw failures[0]!.error;
  }
}

const QUERIES = [
  'user.name:alice',
  'http.response.time_ms:>1500 AND url.path:/api/*',
  '"POST /api/export 500"',
  'NOT dataset:aws.alb AND http.response.status_code:500',
  '',
];

async function latencies(b: SearchBackend): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const q of QUERIES) {
    await b.search({ query: q }); // warm: first touch reads the file
    const runs: number[] = [];
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      await b.search({ query: q, limit: 100 });
      runs.push(performance.now() - t);
    }
    out[q || '(all)'] = Math.round(runs.sort((a, b) => a - b)[1]!);
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'logferry-bench-store-'));
try {
  const all = events();
  progress(`local-store: ${COUNT} events, writes of ${CHUNK}`);
  const store = new LocalStoreSink(
    localStoreSinkSchema.parse({
      name: 's',
      type: 'local_store',
      path: join(dir, 'e.duckdb'),
      retention_days: 0,
    }),
  );
  const ours = await measure(() => writeAll(store, all));
  const again = await measure(() => writeAll(store, all.slice(0, 10_000)));
  progress(`  store: ${ours.seconds.toFixed(1)} s; 10k replayed ids: ${again.seconds.toFixed(2)} s`);
  const daily = new DailyFilesSink(
    dailyFilesSinkSchema.parse({
      name: 'd',
      type: 'daily_files',
      path: join(dir, 'logs'),
      retention_days: 0,
    }),
  );
  const base = await measure(() => writeAll(daily, all));
  await daily.close();
  progress(`  daily_files: ${base.seconds.toFixed(1)} s`);
  const storeMs = await latencies(await store.searchBackend());
  const files = await filesBackend(join(dir, 'logs'), { allowSql: false });
  const filesMs = await latencies(files);
  await files.close();
  await store.close();
  progress(`  search ms (store): ${JSON.stringify(storeMs)}`);
  progress(`  search ms (day files): ${JSON.stringify(filesMs)}`);
  console.log(
    JSON.stringify(
      result('local-store', COUNT, ours.seconds, COUNT, base.seconds, ours.peakRssMb, {
        replay_10k_s: Math.round(again.seconds * 100) / 100,
        search_ms_store: storeMs,
        search_ms_files: filesMs,
      }),
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
