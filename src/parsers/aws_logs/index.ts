import { Readable } from 'node:stream';
import { constants, gunzipSync } from 'node:zlib';
import type { RawItem } from '../../core/batch.js';
import { chunksOf, type DraftChunk, draftsOf, type ParseContext, type Parser } from '../../core/component.js';
import { ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { isGzip } from '../../core/limits.js';
import { openBody } from '../../formats/bytes.js';
import { AlbParser } from '../alb/index.js';
import { CloudTrailParser } from '../cloudtrail/index.js';
import { CloudWatchLogsParser } from '../cloudwatch_logs/index.js';
import { ElbClassicParser } from '../elb_classic/index.js';
import { NlbParser } from '../nlb/index.js';
import { type AwsLogFormat, formatFromKey, sniffFormat } from './detect.js';

const SNIFF_BYTES = 16 * 1024;

const parsers: Record<AwsLogFormat, Parser> = {
  cloudtrail: new CloudTrailParser(),
  elb_classic: new ElbClassicParser(),
  alb: new AlbParser(),
  nlb: new NlbParser(),
  cloudwatch_logs: new CloudWatchLogsParser(),
};

/** Reads up to `bytes` from a stream and gives back those bytes plus a stream of everything (nothing is lost). */
export async function peek(input: Readable, bytes: number): Promise<{ head: Buffer; all: Readable }> {
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < bytes) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.from(r.value);
    seen.push(b);
    size += b.length;
  }
  async function* replay(): AsyncIterable<Buffer> {
    yield* seen;
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head: Buffer.concat(seen), all: Readable.from(replay(), { objectMode: false }) };
}

export function headText(head: Buffer): string {
  if (!isGzip(head)) return head.subarray(0, SNIFF_BYTES).toString('utf8');
  try {
    // Sync flush inflates what a partial stream holds without calling it truncated. 2 KB of
    // deflate inflates to at most ~2 MB (the format's ratio tops out near 1032:1).
    const text = gunzipSync(head.subarray(0, 2048), { finishFlush: constants.Z_SYNC_FLUSH });
    return text.subarray(0, SNIFF_BYTES).toString('utf8');
  } catch {
    return '';
  }
}

/**
 * Any AWS log object: picks CloudTrail, classic ELB, ALB or NLB by the documented key layout,
 * and by the first bytes when the key says nothing. An object that is none of them fails with
 * a clear error (and is dead-lettered) rather than being guessed at.
 */
export class AwsLogsParser implements Parser {
  readonly name = 'aws_logs';

  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return draftsOf(this.parseChunks(item, ctx));
  }

  /** The chosen format's own chunks (a load-balancer file's lines a decoded chunk at a time). */
  async *parseChunks(item: RawItem, ctx: ParseContext): AsyncIterable<DraftChunk> {
    const key = String(item.origin.attrs?.key ?? item.origin.ref);
    const byKey = formatFromKey(key);
    if (byKey === 'digest') return;
    if (byKey) {
      yield* chunksOf(parsers[byKey], item, ctx);
      return;
    }
    const { head, all } = await peek(await openBody(item), SNIFF_BYTES);
    if (head.length === 0) throw new ParseError('object is empty (0 bytes): no log format to read');
    const text = headText(head);
    const format = sniffFormat(text);
    if (!format) {
      all.destroy();
      const start = JSON.stringify(text.slice(0, 40));
      throw new ParseError(
        `unknown log format: the key matches no AWS log file layout and the content (starting ${start}) is not CloudTrail, classic ELB, ALB, NLB or CloudWatch Logs subscription messages; set a parser for this bucket/prefix in the source's formats to read it`,
      );
    }
    yield* chunksOf(parsers[format], { ...item, body: { kind: 'stream', open: async () => all } }, ctx);
  }
}

/** The parser for one recognized AWS log format. */
export function awsLogParser(format: AwsLogFormat): Parser {
  return parsers[format];
}

export function create(): Parser {
  return new AwsLogsParser();
}
