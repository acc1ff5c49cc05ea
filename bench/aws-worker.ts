/**
 * One measured run in its own process (bundled and run by plain node, as in Lambda), so that
 * neither the other run's garbage nor a TypeScript loader counts in its peak RSS.
 * argv: <mode> <file>; prints {"events","seconds","peak_rss_mb","output_bytes"} as its last stdout line.
 * Sink writes carry 500 events, as config/examples/aws-s3.yaml sets (BENCH_CHUNK_EVENTS to change):
 * with the default 2000 the buffered events outlive V8's young generation and GC doubles.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { RawItem } from '../src/core/batch.js';
import type { Parser } from '../src/core/component.js';
import { runBatch } from '../src/core/pipeline.js';
import { AlbParser } from '../src/parsers/alb/index.js';
import { CloudTrailParser } from '../src/parsers/cloudtrail/index.js';
import { testPipeline } from '../src/testing/memory.js';
import { measure, NullNdjsonSink } from './lib.js';

/** The NDJSON bytes the last pipeline run wrote. */
let outputBytes = 0;

async function pipelineRun(parser: Parser, file: string, key: string): Promise<number> {
  const sink = new NullNdjsonSink();
  const p = testPipeline(
    { parser, sinks: [sink] },
    {
      delivery: {
        maxAttempts: 1,
        backoff: { baseMs: 1, maxMs: 1 },
        chunkEvents: Number(process.env.BENCH_CHUNK_EVENTS ?? 500),
      },
    },
  );
  const item: RawItem = {
    ackId: key,
    origin: {
      source: 'bench',
      type: 's3',
      ref: `s3://bench/${key}`,
      attrs: { bucket: 'bench', key, etag: 'e' },
    },
    body: { kind: 'stream', open: async () => createReadStream(file, { highWaterMark: 64 * 1024 }) },
  };
  const res = await runBatch({ source: 'bench', items: [item] }, p);
  if (res.items[0]!.status !== 'delivered')
    throw new Error(`bench item ${res.items[0]!.status}: ${res.items[0]!.error}`);
  if (sink.bytes === 0) throw new Error('nothing serialized');
  outputBytes = sink.bytes;
  return res.events;
}

const modes: Record<string, (file: string) => Promise<number>> = {
  'cloudtrail-ours': (f) =>
    pipelineRun(new CloudTrailParser(), f, 'AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/25/x.json.gz'),
  'cloudtrail-baseline': async (f) => {
    const doc = JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: unknown[] };
    return doc.Records.length;
  },
  'alb-ours': (f) => pipelineRun(new AlbParser(), f, 'AWSLogs/123456789012/elasticloadbalancing/x.log.gz'),
  'alb-baseline': async (f) => {
    const text = gunzipSync(readFileSync(f)).toString('utf8');
    let n = 0;
    for (const line of text.split('\n')) if (line) n++;
    return n;
  },
};

const [mode, file] = process.argv.slice(2);
const run = modes[mode ?? ''];
if (!run || !file) throw new Error(`usage: aws-worker <${Object.keys(modes).join('|')}> <file>`);
const m = await measure(() => run(file));
console.log(
  JSON.stringify({
    events: m.value,
    seconds: m.seconds,
    peak_rss_mb: m.peakRssMb,
    output_bytes: outputBytes,
  }),
);
