/**
 * `npm run bench -- duo`: the fake Duo API holding BENCH_EVENTS (default 1,000,000)
 * authentication events, no rate limit, pulled into daily files by the duo source (parse, ECS
 * mapping, dedup-by-id append, checkpoint per page). Baseline: the same pages fetched by a bare
 * signed HTTP loop that only parses the JSON and follows next_offset.
 */

import { fork } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import duoSig from '@duosecurity/duo_api/lib/duo_sig.js';
import { buildApp } from '../src/app.js';
import { configSchema } from '../src/config/schema.js';
import { runBatch } from '../src/core/pipeline.js';
import { memoryLogger } from '../src/platform/log.js';
import type { DuoSource } from '../src/sources/duo/index.js';
import { docBytesPerInputByte, measure, progress, result } from './lib.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const now = Date.now();
const start = now - 3 * 3_600_000;
// Spread over two hours; several events share each millisecond when there are many.
const step = (2 * 3_600_000) / EVENTS;

// BENCH_LATENCY_MS adds a per-request delay like Duo's over the internet (default: none, as specified).
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 0);
const worker = fork(
  fileURLToPath(new URL('./duo-fake-worker.ts', import.meta.url)),
  [JSON.stringify({ events: EVENTS, start, step, latencyMs: LATENCY })],
  { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
);
const fake = await new Promise<{ endpoint: string; host: string; ikey: string; skey: string }>(
  (resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  },
);
const endpoint = fake.endpoint;
const maxtime = now - 125_000;

let pageBytes = 0;

async function baseline(): Promise<number> {
  pageBytes = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(endpoint);
  let total = 0;
  let offset: string | undefined;
  for (;;) {
    const params: Record<string, string> = {
      mintime: String(start),
      maxtime: String(maxtime),
      limit: '1000',
      sort: 'ts:asc',
      ...(offset ? { next_offset: offset } : {}),
    };
    const date = new Date().toUTCString();
    const path = '/admin/v2/logs/authentication';
    const auth = duoSig.signV5(fake.ikey, fake.skey, 'GET', fake.host, path, params, date, '');
    const body = await new Promise<string>((resolve, reject) => {
      const r = request(
        {
          host: url.hostname,
          port: url.port,
          path: `${path}?${duoSig._canonParams(params)}`,
          agent,
          headers: { Date: date, Host: fake.host, Authorization: auth },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        },
      );
      r.on('error', reject);
      r.end();
    });
    const page = JSON.parse(body) as {
      response: { authlogs: unknown[]; metadata: { next_offset: string[] | null } };
    };
    total += page.response.authlogs.length;
    // The pages as Duo sent them: the input of the document-size measure (item 3 of issue #16).
    pageBytes += Buffer.byteLength(body);
    if (!page.response.metadata.next_offset) break;
    offset = page.response.metadata.next_offset.join(',');
  }
  agent.destroy();
  return total;
}

async function logferry(dir: string): Promise<number> {
  const config = configSchema.parse({
    state: { type: 'file', path: join(dir, 'state') },
    dead_letter: { type: 'file', path: join(dir, 'dead-letter') },
    sources: [
      {
        type: 'duo',
        name: 'duo',
        host: fake.host,
        ikey: fake.ikey,
        skey: fake.skey,
        endpoint,
        // Durations in config carry a unit (a bare number is refused).
        lookback: `${Math.ceil((now - start + 600_000) / 1000)}s`,
        logs: {
          authentication: { max_events_per_poll: 10_000_000 },
          administrator: { enabled: false },
          telephony: { enabled: false },
        },
      },
    ],
    sinks: [
      {
        type: 'daily_files',
        name: 'daily',
        path: join(dir, 'logs'),
        directories: { 'duo.authentication': 'auth' },
        retention_days: 0,
        fsync: process.env.BENCH_FSYNC !== 'false',
      },
    ],
  });
  const log = memoryLogger();
  const app = await buildApp(config, { log });
  const [source] = (await app.createSources()) as DuoSource[];
  let lastReport = Date.now();
  const r = await source!.pollLog('authentication', {
    state: app.state,
    log,
    process: (b) => runBatch(b, app.pipeline),
    onPage: (p) => {
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        progress(`  logferry: ${p.events} events`);
      }
    },
  });
  source!.client.close();
  await app.close();
  return r.events;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-duo-'));
try {
  progress(`duo: ${EVENTS} authentication events in the fake Duo API, ${LATENCY} ms per request`);
  const base = await measure(baseline);
  progress(
    `baseline (bare signed HTTP loop): ${base.value} events in ${base.seconds.toFixed(2)} s (${base.cpuSeconds.toFixed(2)} s CPU)`,
  );
  const run = await measure(() => logferry(dir));
  progress(
    `logferry (duo source → daily files): ${run.value} events in ${run.seconds.toFixed(2)} s (${run.cpuSeconds.toFixed(2)} s CPU)`,
  );
  if (run.value !== EVENTS || base.value !== EVENTS)
    throw new Error(`expected ${EVENTS} events, got ${run.value} (logferry) and ${base.value} (baseline)`);
  let bytes = 0;
  for (const f of await readdir(join(dir, 'logs', 'auth')))
    bytes += (await stat(join(dir, 'logs', 'auth', f))).size;
  console.log(
    JSON.stringify(
      result('duo', run.value, run.seconds, base.value, base.seconds, run.peakRssMb, {
        // CPU per event of the baseline over logferry's: on a shared machine, less disturbed than time.
        cpu_ratio: Math.round(((base.cpuSeconds / base.value) * 1000) / (run.cpuSeconds / run.value)) / 1000,
        cpu_s: Math.round(run.cpuSeconds * 100) / 100,
        baseline_cpu_s: Math.round(base.cpuSeconds * 100) / 100,
        events: EVENTS,
        latency_ms: LATENCY,
        daily_file_mb: Math.round(bytes / 1024 / 1024),
        // Day-file bytes per byte of the API's pages (each document keeps the event under duo.*).
        doc_bytes_per_input_byte: docBytesPerInputByte(bytes, pageBytes),
      }),
    ),
  );
} finally {
  worker.send('close');
  await new Promise((r) => worker.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
