/**
 * The HTTP intake: Firehose-shaped gzip requests of CloudWatch Logs records from concurrent
 * senders on loopback, against a baseline of the same batches handed to runBatch directly (no
 * HTTP, no gzip body, no JSON envelope). The ratio is what the HTTP path costs.
 * BENCH_REQUESTS (default 400), BENCH_SENDERS (default 8), 10 records of 20–120 events each.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Batch } from '../src/core/batch.js';
import { defaultLimits } from '../src/core/limits.js';
import { runBatch } from '../src/core/pipeline.js';
import { gzipJson, rng, subscriptionMessage } from '../src/demo/cwlogs.js';
import { CloudWatchLogsParser } from '../src/parsers/cloudwatch_logs/index.js';
import { memoryLogger } from '../src/platform/log.js';
import { HttpIntakeSource } from '../src/sources/http_intake/index.js';
import { httpIntakeSourceSchema } from '../src/sources/http_intake/schema.js';
import { MemoryStateStore, testPipeline } from '../src/testing/memory.js';
import { measure, NullNdjsonSink, progress, result } from './lib.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const SENDERS = Number(process.env.BENCH_SENDERS ?? 8);
const r = rng(3);
let totalEvents = 0;
const requests = Array.from({ length: REQUESTS }, (_, i) => {
  const records = Array.from({ length: 10 }, (_, j) => {
    const count = 20 + Math.floor(r() * 101);
    totalEvents += count;
    const msg = subscriptionMessage({
      kind: j % 2 ? 'vpc' : 'app',
      count,
      start: 1_764_000_000_000 + i * 1e5 + j * 1e3,
      r,
    });
    return { data: gzipJson(msg).toString('base64') };
  });
  const requestId = randomUUID();
  return {
    requestId,
    records,
    body: gzipSync(JSON.stringify({ requestId, timestamp: Date.now(), records })),
  };
});
progress(
  `intake: ${REQUESTS} requests × 10 records, ${totalEvents} events, ${(requests.reduce((a, q) => a + q.body.length, 0) / 1e6).toFixed(1)} MB gzip, ${SENDERS} senders`,
);

const pipeline = () =>
  testPipeline(
    { parser: new CloudWatchLogsParser(), sinks: [new NullNdjsonSink()] },
    { delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 2000 } },
  );

async function baseline(): Promise<number> {
  const p = pipeline();
  let events = 0;
  for (const q of requests) {
    const batch: Batch = {
      source: 'bench',
      items: q.records.map((rec, i) => ({
        ackId: String(i),
        origin: { source: 'bench', type: 'firehose_http', ref: `bench/${q.requestId}/${i}` },
        body: { kind: 'base64', text: rec.data },
      })),
    };
    events += (await runBatch(batch, p)).events;
  }
  return events;
}

async function ours(): Promise<number> {
  const p = pipeline();
  let events = 0;
  const cfg = httpIntakeSourceSchema.parse({
    name: 'bench',
    type: 'http_intake',
    listen: '127.0.0.1:0',
    firehose: {},
    max_concurrent: SENDERS,
  });
  const source = new HttpIntakeSource(cfg);
  const ac = new AbortController();
  const running = source.run({
    state: new MemoryStateStore(),
    signal: ac.signal,
    limits: defaultLimits,
    log: memoryLogger(),
    process: async (b) => {
      const res = await runBatch(b, p);
      events += res.events;
      return res;
    },
  });
  const url = `http://127.0.0.1:${await source.listening}/firehose`;
  let next = 0;
  const sender = async () => {
    while (next < requests.length) {
      const q = requests[next++]!;
      const res = await fetch(url, {
        method: 'POST',
        body: q.body,
        headers: { 'content-encoding': 'gzip', 'x-amz-firehose-request-id': q.requestId },
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`request answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  ac.abort();
  await running;
  return events;
}

await baseline();
await ours();
let best = { base: Infinity, ours: Infinity, rss: 0 };
for (let round = 0; round < 2; round++) {
  const b = await measure(baseline);
  const o = await measure(ours);
  if (o.value !== totalEvents || b.value !== totalEvents) throw new Error('event counts differ');
  best = {
    base: Math.min(best.base, b.seconds),
    ours: Math.min(best.ours, o.seconds),
    rss: Math.max(best.rss, o.peakRssMb),
  };
}
console.log(
  JSON.stringify(
    result('intake', totalEvents, best.ours, totalEvents, best.base, best.rss, {
      requests: REQUESTS,
      senders: SENDERS,
      requests_per_s: Math.round(REQUESTS / best.ours),
    }),
  ),
);
