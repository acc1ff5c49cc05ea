import { createReadStream, statSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import type { ItemResult, RawItem } from '../../core/batch.js';
import type { Line, Parser } from '../../core/component.js';
import type { ItemDecoding } from '../../core/decoder.js';
import { defaultLimits, type Limits } from '../../core/limits.js';
import { Metrics } from '../../core/metrics.js';
import { type Pipeline, runBatch, setAside, settleFailedItem } from '../../core/pipeline.js';
import { openBody } from '../../formats/bytes.js';
import { withEnvelopes } from '../../formats/envelope.js';
import { readLineBatches } from '../../formats/lines.js';
import { peek } from '../../parsers/aws_logs/index.js';
import { parsers } from '../../parsers/registry.js';
import { memoryLogger } from '../../platform/memory-log.js';
import { releasesWrittenBytes, StdoutSink, writeAndWait } from '../../sinks/stdout/index.js';
import { ReportingDeadLetterStore } from './memory-dead-letter.js';

export interface DecodeOptions {
  parser: string;
  format: 'doc' | 'envelope';
  /**
   * Worker threads for big line-oriented input (base64 records, JSON lines): `auto` is one per
   * core (none on one core), 0 decodes in this thread. Default auto.
   */
  workers?: 'auto' | number;
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
/** Smaller input is decoded in this thread: starting workers would cost more than they save. */
const SPLIT_MIN_BYTES = 1 << 20;
/**
 * A worker is handed this many bytes of lines at a time (or PIECE_LINES lines, if fewer): small
 * enough that a piece's events fit in the chunks a worker may send ahead (AHEAD in
 * decode-worker.ts), so a worker never waits on the main thread still writing an older piece.
 */
const PIECE_BYTES = 64 << 10;
const PIECE_LINES = 1024;
/** Pieces handed out and not yet written, per worker: keeps every worker busy, bounds memory. */
const PIECES_AHEAD_PER_WORKER = 4;
const SOURCE = 'decode';
/**
 * A worker's young generation, below Node's default. Peak RSS with 2 workers went from ~225 to
 * ~185 MB on 200,000 events, CPU time unchanged within noise (8 MB cost 30 % more CPU).
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 16 };

/**
 * Turns a Lambda event (Kinesis, Firehose, SQS, CloudWatch Logs), base64 records one per line, a
 * raw base64 record or a gzip payload into NDJSON with any parser, reporting each bad part on
 * stderr. Returns how many parts were bad, and how many worker threads decoded (0: this one).
 */
export async function decode(
  file: string | undefined,
  opts: DecodeOptions,
): Promise<{ events: number; bad: number; workers: number }> {
  const name = file && file !== '-' ? file : 'stdin';
  const load = parsers[opts.parser];
  if (!load) throw new Error(`unknown parser '${opts.parser}' (known: ${Object.keys(parsers).join(', ')})`);
  const given = opts.limits ?? defaultLimits;
  // One local input is one record, as large as a whole document may inflate.
  const limits = { ...given, max_record_bytes: Math.max(given.max_record_bytes, given.max_inflated_bytes) };
  const workers = opts.workers ?? 'auto';
  // A big file's workers start while the parser loads and the file's head is read.
  const early = workers !== 0 && isBigFile(file) ? startPool(workers, opts, limits) : undefined;
  // Envelopes (Kinesis, Firehose, SQS, CloudWatch Logs events; base64 lines) wrap any payload.
  const parser = withEnvelopes((await load()).create({}));
  const deadLetter = new ReportingDeadLetterStore(opts.report);
  const pipeline: Pipeline = {
    route: () => ({ parser, sinks: [new StdoutSink('stdout', opts.format, opts.stdout)] }),
    parser: async () => undefined,
    transforms: [],
    deadLetter,
    limits,
    delivery: { maxAttempts: 1, backoff: { baseMs: 0, maxMs: 0 }, chunkEvents: EVENTS_PER_WRITE },
    log: memoryLogger(),
    metrics: new Metrics(),
  };
  let item = inputItem(file, name);
  let pool: Pool | undefined;
  if (workers !== 0 && parser.readsLinesAlone) {
    const input = await peekInput(item, parser, name !== 'stdin');
    item = input.item;
    if (input.split) pool = await (early ?? startPool(workers, opts, limits));
  }
  if (!pool) await (await early)?.close();
  const result = pool
    ? await inWorkers(item, pool, pipeline, opts.stdout, opts.report)
    : await inThisThread(item, pipeline);
  return { events: result.events, bad: deadLetter.entries.length + result.failed, workers: pool?.size ?? 0 };
}

/** A regular file over SPLIT_MIN_BYTES (standard input is judged by its head alone). */
function isBigFile(file: string | undefined): boolean {
  if (file === undefined || file === '-') return false;
  try {
    const st = statSync(file);
    return st.isFile() && st.size >= SPLIT_MIN_BYTES;
  } catch {
    // Reading it will say what is wrong, in its own words.
    return false;
  }
}

async function inThisThread(item: RawItem, p: Pipeline): Promise<{ events: number; failed: number }> {
  const res = await runBatch({ source: SOURCE, items: [item] }, p);
  return { events: res.events, failed: 0 };
}

/**
 * Reads the first MB to decide: input that large whose parser reads each line alone is split
 * between workers. The item returned goes on from what was read, or for a file not split, is the
 * file again (a parser may read it twice: a document's first line, then the whole document).
 */
async function peekInput(
  item: RawItem,
  parser: Parser,
  reopenable: boolean,
): Promise<{ item: RawItem; split: boolean }> {
  let head: Buffer;
  let all: Readable;
  try {
    ({ head, all } = await peek(await openBody(item), SPLIT_MIN_BYTES));
  } catch (e) {
    // An input that cannot be read is reported by the parser's path, as it always was.
    return { item: unreadable(item, e), split: false };
  }
  const whole = head.length < SPLIT_MIN_BYTES;
  // Standard input cannot be opened again, and a parser may read its input twice (a document's
  // first line, then the whole document): input that fit in the head is replayed from it; more
  // than that is read once, and a second read says why it cannot be.
  let opened = false;
  const open = async (): Promise<Readable> => {
    if (whole && !reopenable) return Readable.from([head]);
    if (opened)
      throw new Error('standard input over 1 MB can be read only once: give the document as a file');
    opened = true;
    return all;
  };
  const peeked: RawItem = { ...item, body: { kind: 'stream', open } };
  const split = !whole && parser.readsLinesAlone!(peeked, head);
  if (split || !reopenable) return { item: peeked, split };
  all.destroy();
  return { item, split };
}

function unreadable(item: RawItem, e: unknown): RawItem {
  return { ...item, body: { kind: 'stream', open: () => Promise.reject(e) } };
}

type Pool = import('../daemon/decode/pool.js').DecodePool;

/**
 * The daemon's decode pool (loaded only here: small input never pays for it), its workers started
 * at once, or none on one core.
 */
async function startPool(
  workers: 'auto' | number,
  opts: Pick<DecodeOptions, 'parser' | 'format'>,
  limits: Limits,
): Promise<Pool | undefined> {
  const { DecodePool, workerCount } = await import('../daemon/decode/pool.js');
  const count = workerCount(workers);
  if (count === 0) return undefined;
  const route = { parser: opts.parser, options: {}, envelope: true, trustEventFields: false };
  const spec = { routes: { [SOURCE]: route }, transforms: [], limits, chunkEvents: EVENTS_PER_WRITE };
  const pool = new DecodePool({ ...spec, output: opts.format }, count, { limits: WORKER_HEAP });
  pool.warm();
  return pool;
}

/**
 * Reads the input's lines here and hands them to the workers a piece at a time; the workers send
 * back the NDJSON the stdout sink would write, which is written in input order, so output, bad-line
 * reports (named by their line in the whole input) and ids are those of decoding in this thread.
 * The pieces in hand are bounded and each write waits on stdout, so a slow reader slows the reading.
 */
async function inWorkers(
  item: RawItem,
  pool: Pool,
  p: Pipeline,
  out: Writable,
  report: (line: string) => void,
): Promise<{ events: number; failed: number }> {
  const ahead: ItemDecoding[] = [];
  const total = { events: 0, failed: 0 };
  const parserName = p.route(SOURCE).parser.name;
  const reuse = releasesWrittenBytes(out);
  const writeOldest = async () => {
    const result: ItemResult = { ackId: item.ackId, status: 'delivered', events: 0 };
    for await (const chunk of ahead.shift()!) {
      if (chunk.ndjson) {
        await writeAndWait(out, chunk.ndjson.bytes);
        total.events += chunk.ndjson.count;
        // Given back to its worker to encode into again, unless the stream keeps what it is given.
        if (reuse) chunk.ndjson.release?.();
      }
      for (const r of chunk.rejects) await setAside(item, r, parserName, p, result);
      if (chunk.failure) await settleFailedItem(item, chunk.failure, parserName, p, result);
    }
    // Failed, not dead-lettered: a worker died. Nothing will read it again: it is bad input here.
    if (result.status === 'failed') {
      total.failed++;
      report(`logferry: ${result.error}`);
    }
  };
  try {
    const input = pieces(await openBody(item), p.limits, item.origin.ref)[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Line[]>;
      try {
        next = await input.next();
      } catch (e) {
        // The input broke off: what was read is written, then the break reported as in this thread.
        while (ahead.length > 0) await writeOldest();
        await runBatch({ source: SOURCE, items: [unreadable(item, e)] }, p);
        break;
      }
      if (next.done) break;
      ahead.push(pool.decodeLines(item, next.value, SOURCE)!);
      if (ahead.length > PIECES_AHEAD_PER_WORKER * pool.size) await writeOldest();
    }
    while (ahead.length > 0) await writeOldest();
  } finally {
    for (const d of ahead) d.cancel();
    await pool.close();
  }
  return total;
}

/** The input's lines in pieces of about PIECE_BYTES (lines over max_line_bytes come empty, marked). */
async function* pieces(input: Readable, limits: Limits, what: string): AsyncIterable<Line[]> {
  let piece: Line[] = [];
  let bytes = 0;
  for await (const batch of readLineBatches(input, limits.max_line_bytes, what, limits)) {
    for (const line of batch) {
      piece.push(line);
      bytes += line.text.length;
      if (bytes >= PIECE_BYTES || piece.length >= PIECE_LINES) {
        yield piece;
        piece = [];
        bytes = 0;
      }
    }
  }
  if (piece.length > 0) yield piece;
}
