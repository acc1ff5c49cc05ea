import { z } from 'zod';
import type { ItemBody, RawItem } from '../core/batch.js';
import {
  chunksOf,
  type DraftChunk,
  draftsOf,
  isDraftList,
  type ParseContext,
  type Parser,
} from '../core/component.js';
import { ParseError } from '../core/errors.js';
import type { EventDraft } from '../core/event.js';
import { isGzip, maybeGunzip } from '../core/limits.js';
import { sniffFormat } from '../parsers/aws_logs/detect.js';
import { headText, peek } from '../parsers/aws_logs/index.js';
import { cloudWatchLogsEventSchema } from '../parsers/cloudwatch_logs/schema.js';
import { bodyBytes, openBody } from './bytes.js';
import { fittingLines, itemLines, type Line } from './lines.js';

/** One payload inside an envelope, with the coordinates a user can search for. */
export interface EnvelopePart {
  /** e.g. `Records[3] (shard shardId-000000000000, sequence 4959…, partition key app-1)`. */
  ref: string;
  body: ItemBody;
  attrs?: Record<string, string | number | undefined>;
}

const kinesisEvent = z.object({
  Records: z
    .array(
      z.object({
        eventID: z.string().optional(),
        kinesis: z.object({
          data: z.string(),
          sequenceNumber: z.string().optional(),
          partitionKey: z.string().optional(),
        }),
      }),
    )
    .min(1),
});

const firehoseEvent = z.object({
  records: z
    .array(
      z.object({
        recordId: z.string(),
        data: z.string(),
        kinesisRecordMetadata: z
          .object({ shardId: z.string().optional(), sequenceNumber: z.string().optional() })
          .optional(),
      }),
    )
    .min(1),
});

const sqsEvent = z.object({
  Records: z
    .array(z.object({ eventSource: z.literal('aws:sqs'), messageId: z.string(), body: z.string() }))
    .min(1),
});

/** Parenthesized coordinates, leaving out the unknown ones. */
function coordinates(parts: [string, string | undefined][]): string {
  const known = parts.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k} ${v}`);
  return known.length ? ` (${known.join(', ')})` : '';
}

/**
 * The payloads of a Lambda event envelope — Kinesis (`Records[].kinesis.data`), Firehose
 * transformation (`records[].data`), SQS (`Records[].body`) or a direct CloudWatch Logs
 * subscription (`awslogs.data`) — or undefined when the value is none of them.
 */
export function envelopeParts(value: unknown): EnvelopePart[] | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const logs = cloudWatchLogsEventSchema.safeParse(value);
  if (logs.success) return [{ ref: 'awslogs.data', body: { kind: 'base64', text: logs.data.awslogs.data } }];
  const kinesis = kinesisEvent.safeParse(value);
  if (kinesis.success) {
    return kinesis.data.Records.map((r, i) => {
      const shard = r.eventID?.includes(':') ? r.eventID.split(':')[0] : undefined;
      const seq = r.kinesis.sequenceNumber;
      const key = r.kinesis.partitionKey;
      return {
        ref: `Records[${i}]${coordinates([
          ['shard', shard],
          ['sequence', seq],
          ['partition key', key],
        ])}`,
        body: { kind: 'base64', text: r.kinesis.data },
        attrs: { shard, sequence: seq, partition_key: key },
      };
    });
  }
  const firehose = firehoseEvent.safeParse(value);
  if (firehose.success) {
    return firehose.data.records.map((r, i) => {
      const meta = r.kinesisRecordMetadata;
      return {
        ref: `records[${i}]${coordinates([
          ['recordId', r.recordId],
          ['shard', meta?.shardId],
          ['sequence', meta?.sequenceNumber],
        ])}`,
        body: { kind: 'base64', text: r.data },
        attrs: { record_id: r.recordId, shard: meta?.shardId, sequence: meta?.sequenceNumber },
      };
    });
  }
  const sqs = sqsEvent.safeParse(value);
  if (sqs.success) {
    return sqs.data.Records.map((r, i) => ({
      ref: `Records[${i}]${coordinates([['message id', r.messageId]])}`,
      body: { kind: 'bytes', bytes: Buffer.from(r.body) },
      attrs: { message_id: r.messageId },
    }));
  }
  return undefined;
}

/** A part as an item of its own: its origin names the envelope's item and the part. */
export function partItem(item: RawItem, part: EnvelopePart): RawItem {
  return {
    ...item,
    origin: {
      ...item.origin,
      ref: `${item.origin.ref} ${part.ref}`,
      attrs: { ...item.origin.attrs, ...part.attrs },
    },
    body: part.body,
  };
}

/**
 * Runs `inner` on each part; a part it cannot read is set aside alone and the others go on. A
 * part read in memory (a record) goes up as one chunk, read whole inside the `try`.
 */
export async function* parseParts(
  inner: Parser,
  item: RawItem,
  parts: Iterable<EnvelopePart> | AsyncIterable<EnvelopePart>,
  ctx: ParseContext,
): AsyncIterable<DraftChunk> {
  for await (const part of parts) {
    const partCtx: ParseContext = {
      ...ctx,
      reject: (p, e) => ctx.reject({ ref: `${part.ref} ${p.ref}`, data: p.data }, e),
    };
    try {
      const chunks = chunksOf(inner, partItem(item, part), partCtx);
      if (Symbol.asyncIterator in chunks) yield* chunks;
      else yield [...chunks].flatMap((c) => (isDraftList(c) ? c : [c]));
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      const data =
        part.body.kind === 'base64'
          ? part.body.text
          : part.body.kind === 'bytes'
            ? part.body.bytes
            : undefined;
      await ctx.reject({ ref: part.ref, data }, e);
    }
  }
}

const BASE64_LINE = /^[A-Za-z0-9+/]{16,}={0,2}$/;
const ENVELOPE_KEYS = /^\{\s*"(Records|records|awslogs|invocationId|deliveryStreamArn)"/;
const SNIFF_BYTES = 16 * 1024;

/**
 * Lets any parser read its payloads inside any envelope: a Kinesis, Firehose, SQS or CloudWatch
 * Logs Lambda event (a JSON file as copied from a test event or a log), or base64 records one
 * per line (as copied from a stream). Anything else goes to the parser unchanged.
 */
export class EnvelopeParser implements Parser {
  readonly name: string;
  constructor(private readonly inner: Parser) {
    this.name = inner.name;
  }

  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return draftsOf(this.parseChunks(item, ctx));
  }

  /** See Parser.parseChunks: each record of an envelope comes as one chunk. */
  async *parseChunks(item: RawItem, ctx: ParseContext): AsyncIterable<DraftChunk> {
    if (item.body.kind === 'object') {
      const parts = envelopeParts(item.body.value);
      yield* parts ? parseParts(this.inner, item, parts, ctx) : chunksOf(this.inner, item, ctx);
      return;
    }
    const { head, all } = await peek(await openBody(item), SNIFF_BYTES);
    // Bytes in memory can be read again; a stream goes on from what was peeked.
    const reopened: RawItem =
      item.body.kind === 'stream' ? { ...item, body: { kind: 'stream', open: async () => all } } : item;
    const text = headText(head).trimStart();
    // AWS log files (CloudTrail's {"Records":[…]} included) can be huge: they stream on unread.
    if (ENVELOPE_KEYS.test(text) && !sniffFormat(text)) {
      const bytes = await bodyBytes(reopened, ctx.limits);
      const parts = envelopeOf(bytes, ctx);
      yield* parts
        ? parseParts(this.inner, item, parts, ctx)
        : chunksOf(this.inner, { ...item, body: { kind: 'bytes', bytes } }, ctx);
      return;
    }
    if (isBase64Lines(text)) {
      yield* parseParts(this.inner, item, base64Lines(reopened, ctx), ctx);
      return;
    }
    yield* chunksOf(this.inner, reopened, ctx);
  }

  /** Base64 records one a line (see parseChunks), not gzipped: each line is a record of its own. */
  readsLinesAlone(item: RawItem, head: Buffer): boolean {
    if (item.body.kind !== 'stream' || isGzip(head)) return false;
    const text = headText(head).trimStart();
    return !(ENVELOPE_KEYS.test(text) && !sniffFormat(text)) && isBase64Lines(text);
  }

  /** See Parser.parseLines: each line a base64 record, as parseChunks reads them. */
  async *parseLines(item: RawItem, lines: readonly Line[], ctx: ParseContext): AsyncIterable<DraftChunk> {
    yield* parseParts(this.inner, item, linesAsParts(await fittingLines(lines, ctx)), ctx);
  }
}

function isBase64Lines(head: string): boolean {
  return BASE64_LINE.test(head.slice(0, head.search(/\r?\n|$/)));
}

function envelopeOf(bytes: Buffer, ctx: ParseContext): EnvelopePart[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(maybeGunzip(bytes, ctx.limits, 'input').toString('utf8'));
  } catch {
    return undefined;
  }
  return envelopeParts(value);
}

async function* base64Lines(item: RawItem, ctx: ParseContext): AsyncIterable<EnvelopePart> {
  for await (const line of itemLines(item, ctx)) yield* linesAsParts([line]);
}

function* linesAsParts(lines: readonly Line[]): Iterable<EnvelopePart> {
  for (const line of lines) {
    const text = line.text.trim();
    if (text !== '') yield { ref: `line ${line.no}`, body: { kind: 'base64', text } };
  }
}

/** `auto` reads every envelope itself; other parsers get the envelope layer around them. */
export function withEnvelopes(parser: Parser): Parser {
  return parser.name === 'auto' || parser instanceof EnvelopeParser ? parser : new EnvelopeParser(parser);
}
