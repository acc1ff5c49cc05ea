import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { RawItem } from '../../core/batch.js';
import type { Logger } from '../../core/component.js';
import { defaultLimits, type Limits } from '../../core/limits.js';
import { Metrics } from '../../core/metrics.js';
import { runBatch } from '../../core/pipeline.js';
import { withEnvelopes } from '../../formats/envelope.js';
import { memoryLogger } from '../../platform/log.js';
import { parsers } from '../../registry.js';
import { StdoutSink } from '../../sinks/stdout/index.js';
import { ReportingDeadLetterStore } from './memory-dead-letter.js';

export interface DecodeOptions {
  parser: string;
  format: 'doc' | 'envelope';
  limits?: Limits;
  stdout: Writable;
  report: (line: string) => void;
}

/**
 * The input as a stream item: line-oriented input (base64 records a line, JSON lines) is decoded
 * as it is read, so memory no longer grows with the file; whole documents (a Kinesis event, a
 * gzip payload) are read whole by the parser, within max_inflated_bytes.
 */
function inputItem(file: string | undefined, name: string): RawItem {
  const fromFile = file !== undefined && file !== '-';
  return {
    ackId: name,
    origin: { source: 'decode', type: 'file', ref: name },
    body: {
      kind: 'stream',
      open: async () => (fromFile ? createReadStream(file, { highWaterMark: 1 << 20 }) : process.stdin),
    },
  };
}

/**
 * Events per write to the output (~250 KB of NDJSON). Larger batches outlive V8's young
 * generation: at 2000 events a 1 M-event decode spent 40 % more CPU, mostly collecting garbage.
 */
const EVENTS_PER_WRITE = 500;

/**
 * Turns a Lambda event (Kinesis, Firehose, SQS, CloudWatch Logs), base64 records one per line, a
 * raw base64 record or a gzip payload into NDJSON with any parser, reporting each bad part on
 * stderr. Returns how many parts were bad.
 */
export async function decode(
  file: string | undefined,
  opts: DecodeOptions,
): Promise<{ events: number; bad: number }> {
  const name = file && file !== '-' ? file : 'stdin';
  const load = parsers[opts.parser];
  if (!load) throw new Error(`unknown parser '${opts.parser}' (known: ${Object.keys(parsers).join(', ')})`);
  // Envelopes (Kinesis, Firehose, SQS, CloudWatch Logs events; base64 lines) wrap any payload.
  const parser = withEnvelopes((await load()).create({}));
  const deadLetter = new ReportingDeadLetterStore(opts.report);
  const log: Logger = memoryLogger();
  const sink = new StdoutSink('stdout', opts.format, opts.stdout);
  const limits = opts.limits ?? defaultLimits;
  const result = await runBatch(
    {
      source: 'decode',
      items: [inputItem(file, name)],
    },
    {
      route: () => ({ parser, sinks: [sink] }),
      parser: async () => undefined,
      transforms: [],
      deadLetter,
      // One local input is one record, as large as a whole document may inflate.
      limits: { ...limits, max_record_bytes: Math.max(limits.max_record_bytes, limits.max_inflated_bytes) },
      delivery: { maxAttempts: 1, backoff: { baseMs: 0, maxMs: 0 }, chunkEvents: EVENTS_PER_WRITE },
      log,
      metrics: new Metrics(),
    },
  );
  return { events: result.events, bad: deadLetter.entries.length };
}
