/**
 * LogEvents through the OpenSearch sink (default settings) into the loopback bulk server,
 * against a bare HTTP loop POSTing the same NDJSON bodies to the same server. Event generation
 * is outside both timings. BENCH_EVENTS sets how many events (default 1,000,000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { LogEvent } from '../src/core/event.js';
import { finalizeEvent } from '../src/core/pipeline.js';
import { rng } from '../src/demo/cwlogs.js';
import { create } from '../src/sinks/opensearch/index.js';
import { buildChunks, indexNamer } from '../src/sinks/opensearch/request.js';
import { openSearchSinkSchema } from '../src/sinks/opensearch/schema.js';
import { progress, result } from './lib.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
/** The core's default chunk_events: what one sink.write receives. */
const CHUNK = 2000;

const ACTIONS = ['ConsoleLogin', 'AssumeRole', 'GetObject', 'PutObject', 'DescribeInstances', 'CreateUser'];
const r = rng(7);
function event(i: number): LogEvent {
  const action = ACTIONS[i % ACTIONS.length]!;
  return finalizeEvent(
    {
      dataset: i % 3 ? 'aws.cloudtrail' : 'aws.vpcflow',
      timestamp: 1_764_000_000_000 + i * 37,
      doc: {
        message: `${action} by arn:aws:iam::123456789012:user/user${i % 500}`,
        event: {
          kind: 'event',
          category: ['iam'],
          type: ['info'],
          action,
          outcome: r() < 0.9 ? 'success' : 'failure',
          provider: 'iam.amazonaws.com',
        },
        cloud: { provider: 'aws', account: { id: '123456789012' }, region: 'eu-west-1' },
        source: { ip: `10.${i % 256}.${(i >> 8) % 256}.${Math.floor(r() * 255)}`, port: 1024 + (i % 60000) },
        user: { name: `user${i % 500}`, id: `AIDA${(i % 500).toString(16).padStart(16, '0').toUpperCase()}` },
        user_agent: { original: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2023' },
        aws: {
          cloudtrail: {
            request_id: `${i.toString(16)}-4c1a-9d3e-${Math.floor(r() * 1e12).toString(16)}`,
            event_type: 'AwsApiCall',
          },
        },
      },
      idParts: ['bench', i],
    },
    { source: 'bench', type: 'bench', ref: `bench/${i}` },
  );
}

async function startFake(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'opensearch-fake-server.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`fake exited ${c}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function stopFake(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  child.stdin!.end();
  await done;
}

const cfg = openSearchSinkSchema.parse({ name: 'bench', type: 'opensearch', endpoint: 'http://127.0.0.1:1' });

progress(`opensearch: ${TOTAL} events, chunks of ${CHUNK}`);
const indexOf = indexNamer(cfg.index);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function post(url: string, body: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = request(
      `${url}/_bulk?filter_path=errors,items.*.status,items.*.error`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.on('data', () => {});
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Both sides run chunk by chunk, interleaved, each against its own fake process, so a busy
 * machine slows both alike. Baseline: the bodies the sink would build (built outside the
 * timing) POSTed one after another over a keep-alive connection, the answer read but not
 * judged. Sink: `OpenSearchSink.write` with the default settings.
 */
const base = await startFake();
const target = await startFake();
const sink = await create({ ...cfg, endpoint: target.url });
let baseNs = 0n;
let sinkNs = 0n;
let failed = 0;
let peak = 0;
const steady: number[] = [];
for (let from = 0; from < TOTAL; from += CHUNK) {
  const events = Array.from({ length: Math.min(CHUNK, TOTAL - from) }, (_, k) => event(from + k));
  const bodies = buildChunks(
    events,
    events.map((_, i) => i),
    { op: cfg.op, documentId: true, maxBytes: cfg.max_bulk_bytes, maxDocs: cfg.max_bulk_docs, indexOf },
  ).chunks.map((c) => c.body);
  let t0 = process.hrtime.bigint();
  for (const b of bodies) await post(base.url, b);
  baseNs += process.hrtime.bigint() - t0;
  t0 = process.hrtime.bigint();
  failed += (await sink.write(events)).length;
  sinkNs += process.hrtime.bigint() - t0;
  const rss = process.memoryUsage.rss();
  peak = Math.max(peak, rss);
  if (from > TOTAL / 10) steady.push(rss);
  if (from % 100_000 === 0 && from > 0)
    progress(
      `  ${from} events: baseline ${(Number(baseNs) / 1e9).toFixed(1)} s, sink ${(Number(sinkNs) / 1e9).toFixed(1)} s`,
    );
}
await sink.close();
agent.destroy();
await stopFake(base.child);
await stopFake(target.child);
if (failed > 0) throw new Error(`${failed} events not delivered`);

steady.sort((a, b) => a - b);
const mb = (b: number) => Math.round(b / 1024 / 1024);
const steadyMb = mb(steady[Math.floor(steady.length / 2)] ?? peak);
const baselineSeconds = Number(baseNs) / 1e9;
const sinkSeconds = Number(sinkNs) / 1e9;
progress(
  `baseline ${baselineSeconds.toFixed(2)} s, sink ${sinkSeconds.toFixed(2)} s, steady RSS ${steadyMb} MB`,
);
console.log(
  JSON.stringify(
    result('opensearch', TOTAL, sinkSeconds, TOTAL, baselineSeconds, mb(peak), {
      steady_rss_mb: steadyMb,
      max_bulk_bytes: cfg.max_bulk_bytes,
      max_bulk_docs: cfg.max_bulk_docs,
    }),
  ),
);
