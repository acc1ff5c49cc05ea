/**
 * CloudWatch Logs subscription records → LogEvents → NDJSON, against a raw baseline of the same
 * records: base64 decode + gunzip + JSON.parse + JSON.stringify + UTF-8 encoding, no mapping.
 * BENCH_RECORDS sets how many records (default 2000, 50–500 events each).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { RawItem } from '../src/core/batch.js';
import { runBatch } from '../src/core/pipeline.js';
import { gzipJson, rng, subscriptionMessage } from '../src/demo/cwlogs.js';
import { CloudWatchLogsParser } from '../src/parsers/cloudwatch_logs/index.js';
import { testPipeline } from '../src/testing/memory.js';
import { docBytesPerInputByte, measure, NullNdjsonSink, progress, result } from './lib.js';
import { cpuVsPython, pythonLoop, vsPython } from './python-baseline.js';

const records = Number(process.env.BENCH_RECORDS ?? 2000);
const r = rng(1);
const payloads: string[] = [];
/** Each record's subscription JSON before gzip: the input of the document-size measure. */
const plainBytes: number[] = [];
let totalEvents = 0;
for (let i = 0; i < records; i++) {
  const count = 50 + Math.floor(r() * 451);
  totalEvents += count;
  const msg = subscriptionMessage({ kind: kindOf(i), count, start: 1_764_000_000_000 + i * 10_000, r });
  plainBytes.push(Buffer.byteLength(JSON.stringify(msg)));
  payloads.push(gzipJson(msg).toString('base64'));
}

function kindOf(i: number): 'vpc' | 'app' {
  return i % 2 ? 'vpc' : 'app';
}
progress(
  `cwlogs: ${records} records, ${totalEvents} events, ${(payloads.reduce((a, p) => a + p.length, 0) / 1e6).toFixed(1)} MB base64`,
);

function baseline(): number {
  let n = 0;
  let bytes = 0;
  for (const p of payloads) {
    const msg = JSON.parse(gunzipSync(Buffer.from(p, 'base64')).toString('utf8')) as { logEvents: unknown[] };
    n += msg.logEvents.length;
    // Encoded as our sink encodes its text, so both sides pay for bytes.
    bytes += Buffer.from(JSON.stringify(msg)).length;
  }
  if (bytes === 0) throw new Error('baseline did nothing');
  return n;
}

async function ours(only?: 'vpc' | 'app'): Promise<number> {
  const sink = new NullNdjsonSink();
  lastSink = sink;
  const p = testPipeline(
    { parser: new CloudWatchLogsParser(), sinks: [sink] },
    {
      delivery: {
        maxAttempts: 1,
        backoff: { baseMs: 1, maxMs: 1 },
        chunkEvents: Number(process.env.BENCH_CHUNK_EVENTS ?? 2000),
      },
    },
  );
  let events = 0;
  // Lambda-sized batches of 100 records, as a Kinesis trigger would deliver them.
  for (let i = 0; i < payloads.length; i += 100) {
    const items: RawItem[] = payloads.slice(i, i + 100).flatMap((text, j) =>
      only && kindOf(i + j) !== only
        ? []
        : [
            {
              ackId: String(i + j),
              origin: { source: 'bench', type: 'kinesis', ref: `bench/shardId-000000000000/${i + j}` },
              body: { kind: 'base64' as const, text },
            },
          ],
    );
    const res = await runBatch({ source: 'bench', items }, p);
    events += res.events;
  }
  if (p.deadLetter.entries.length) throw new Error(`dead letters: ${p.deadLetter.entries[0]!.error}`);
  return events;
}

let lastSink: NullNdjsonSink | undefined;

/** Item 3 of issue #16: NDJSON bytes per byte of decompressed subscription JSON, per kind of log. */
async function docBytesPerKind(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kind of ['vpc', 'app'] as const) {
    await ours(kind);
    const input = plainBytes.reduce((a, b, i) => (kindOf(i) === kind ? a + b : a), 0);
    out[kind] = docBytesPerInputByte(lastSink!.bytes, input);
  }
  return out;
}

// Warm both paths once so the JIT treats them alike, then measure each twice and keep the best.
baseline();
await ours();
let best = { base: Infinity, ours: Infinity, baseCpu: Infinity, oursCpu: Infinity, rss: 0 };
for (let round = 0; round < 2; round++) {
  const b = await measure(async () => baseline());
  const o = await measure(ours);
  if (o.value !== totalEvents || b.value !== totalEvents) throw new Error('event counts differ');
  best = {
    base: Math.min(best.base, b.seconds),
    ours: Math.min(best.ours, o.seconds),
    baseCpu: Math.min(best.baseCpu, b.cpuSeconds),
    oursCpu: Math.min(best.oursCpu, o.cpuSeconds),
    rss: Math.max(best.rss, o.peakRssMb),
  };
}
// The same records, one base64 record a line, for the Python loop the central-logging Lambda ran.
const b64File = join(tmpdir(), `logferry-bench-cwlogs-${process.pid}.b64`);
writeFileSync(b64File, `${payloads.join('\n')}\n`);
const py = pythonLoop('cwlogs-b64lines', b64File);
rmSync(b64File, { force: true });
if (py && py.events !== totalEvents)
  throw new Error(`python loop counted ${py.events} of ${totalEvents} events`);
const docBytes = await docBytesPerKind();
const line = result('cwlogs', totalEvents, best.ours, totalEvents, best.base, best.rss, {
  records,
  target_ratio: 0.6,
  target_vs_python: 1.5,
  doc_bytes_per_input_byte: docBytes,
  // The same ratio in CPU seconds: steadier than wall time when other work shares the machine.
  cpu_ratio: Math.round((best.baseCpu / best.oursCpu) * 1000) / 1000,
});
console.log(
  JSON.stringify({
    ...line,
    ...vsPython(line.events_per_s, py),
    ...cpuVsPython(totalEvents, best.oursCpu, py),
  }),
);
