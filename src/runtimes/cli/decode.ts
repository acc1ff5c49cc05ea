import { readFile } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import type { Logger } from '../../core/component.js';
import { defaultLimits, type Limits } from '../../core/limits.js';
import { memoryLogger } from '../../core/log.js';
import { Metrics } from '../../core/metrics.js';
import { runBatch } from '../../core/pipeline.js';
import { withEnvelopes } from '../../parsers/envelope.js';
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

async function readInput(file: string | undefined): Promise<Buffer> {
  if (file && file !== '-') return readFile(file);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Turns a Lambda event (Kinesis, Firehose, SQS, CloudWatch Logs), base64 records one per line, a
 * raw base64 record or a gzip payload into NDJSON with any parser, reporting each bad part on
 * stderr. Returns how many parts were bad.
 */
export async function decode(
  file: string | undefined,
  opts: DecodeOptions,
): Promise<{ events: number; bad: number }> {
  const bytes = await readInput(file);
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
      items: [
        {
          ackId: name,
          origin: { source: 'decode', type: 'file', ref: name },
          // Read as a file, like the inbox reads one: AWS log files and archives are recognized.
          body: { kind: 'stream', open: async () => Readable.from([bytes]), size: bytes.length },
        },
      ],
    },
    {
      route: () => ({ parser, sinks: [sink] }),
      parser: async () => undefined,
      transforms: [],
      deadLetter,
      limits: { ...limits, max_record_bytes: Math.max(limits.max_record_bytes, bytes.length) },
      delivery: { maxAttempts: 1, backoff: { baseMs: 0, maxMs: 0 }, chunkEvents: 1000 },
      log,
      metrics: new Metrics(),
    },
  );
  return { events: result.events, bad: deadLetter.entries.length };
}
