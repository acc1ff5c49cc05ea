import type { RawItem } from '../../core/batch.js';
import { type DraftChunk, draftsOf, type ParseContext, type Parser } from '../../core/component.js';
import { jsonErrorReason, LimitError, ParseError } from '../../core/errors.js';
import type { EcsDocument, EventDraft } from '../../core/event.js';
import { globMatch } from '../../core/glob.js';
import { checkRecordSize, decodeBase64, maybeGunzip } from '../../core/limits.js';
import { bodyBytes, openBody } from '../../formats/bytes.js';
import { decodedChunks } from '../../formats/decode.js';
import { parseJsonBytes } from '../../formats/json_pieces.js';
import { ConcatenatedJsonScanner, type ScannedObject } from '../../formats/json_stream.js';
import { cloudTrailDraft, isCloudTrailRecord } from '../cloudtrail/index.js';
import {
  cloudwatchLogsParserSchema,
  type SubscriptionLogEvent,
  type SubscriptionMessage,
  subscriptionMessageSchema,
} from './schema.js';

export const DATASET = 'aws.cloudwatch_logs';

/** Decodes gzip'd (or plain) subscription JSON and validates its shape. */
export function decodeSubscription(
  bytes: Uint8Array,
  ctx: Pick<ParseContext, 'limits'>,
  what = 'record',
): SubscriptionMessage {
  checkRecordSize(bytes.length, ctx.limits, what);
  const plain = maybeGunzip(bytes, ctx.limits, what);
  let json: unknown;
  try {
    json = parseJsonBytes(plain, LOG_EVENTS);
  } catch (e) {
    throw new ParseError(`${what} is not JSON after decompression (${jsonErrorReason(e)})`, { cause: e });
  }
  return validateSubscription(json, what);
}

/** Where a subscription message's events are: a large message is parsed a log event at a time. */
const LOG_EVENTS = ['logEvents'];

export function validateSubscription(json: unknown, what = 'record'): SubscriptionMessage {
  const parsed = subscriptionMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ParseError(
      `${what} is not a CloudWatch Logs subscription message: ${issue.path.join('.') || '(root)'} ${issue.message}`,
      { cause: parsed.error },
    );
  }
  const events = parsed.data.logEvents;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Partial<SubscriptionLogEvent> | null;
    if (!e || typeof e.id !== 'string' || typeof e.timestamp !== 'number' || typeof e.message !== 'string') {
      throw new ParseError(
        `${what} is not a CloudWatch Logs subscription message: logEvents.${i} needs string id, number timestamp and string message`,
      );
    }
  }
  return parsed.data as SubscriptionMessage;
}

export function looksLikeSubscription(json: unknown): boolean {
  return typeof json === 'object' && json !== null && 'messageType' in json && 'logEvents' in json;
}

/** JSON whitespace: what JSON.parse skips around a value. */
function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Parses a message that is a JSON object; other messages stay plain text. Only text that starts
 * with `{` and ends with `}` (JSON whitespace aside) is tried: JSON.parse is never called where
 * it cannot succeed, and throwing was the costly part for plain lines that happen to look alike.
 */
export function parseJsonMessage(message: string): Record<string, unknown> | undefined {
  if (message.charCodeAt(0) !== 0x7b) return undefined;
  let end = message.length - 1;
  while (end > 0 && isJsonSpace(message.charCodeAt(end))) end--;
  // Other trailing white space (NBSP, line separators) is trimmed as before; it is rare.
  const text = message.charCodeAt(end) > 0x7f ? message.trimEnd() : message;
  if (text !== message) end = text.length - 1;
  if (end < 1 || text.charCodeAt(end) !== 0x7d) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface CloudWatchDoc extends EcsDocument {
  message: string;
  event: { id: string; dataset: string; original?: string };
  aws: { cloudwatch: { event_id: string } };
}

/**
 * Writers for this record's docs, with the record-wide parts (cloud, log group, stream, filters)
 * serialized once: they give the text JSON.stringify gives, key for key (the doc literals in
 * subscriptionEvents fix the order). Messages merged into the root (`json_target: ''`) or aimed
 * at a key the document uses itself have no fixed shape and are left to JSON.stringify.
 */
function recordSerializers(
  msg: SubscriptionMessage,
  cloud: object,
  jsonTarget: string,
  keepOriginal: boolean,
): { text: (d: EcsDocument) => string; json: ((d: EcsDocument) => string) | undefined } {
  const tail = `,"cloud":${JSON.stringify(cloud)},"aws":{"cloudwatch":{"log_group":${JSON.stringify(msg.logGroup)},"log_stream":${JSON.stringify(msg.logStream)},"subscription_filters":${JSON.stringify(msg.subscriptionFilters)},"event_id":`;
  // `@timestamp` (isoTime), `event.id` (base64url) and `event.dataset` (DATASET) are finalizeEvent's
  // own text, never anything JSON escapes: quoting them is what JSON.stringify would write.
  const datasetTail = `,"dataset":${JSON.stringify(DATASET)}}`;
  const event = (d: CloudWatchDoc, original: boolean) =>
    `"event":{"provider":"cloudwatch_logs",${original ? `"original":${JSON.stringify(d.event.original)},` : ''}"id":"${d.event.id}"${datasetTail}`;
  const end = (d: CloudWatchDoc) => `${tail}${JSON.stringify(d.aws.cloudwatch.event_id)}}}}`;
  const text = (doc: EcsDocument) => {
    const d = doc as CloudWatchDoc;
    return `{"@timestamp":"${d['@timestamp']}","message":${JSON.stringify(d.message)},${event(d, false)}${end(d)}`;
  };
  if (jsonTarget === '' || ['@timestamp', 'event', 'cloud', 'aws'].includes(jsonTarget))
    return { text, json: undefined };
  const key = `,${JSON.stringify(jsonTarget)}:`;
  const json = (doc: EcsDocument) => {
    const d = doc as CloudWatchDoc;
    return `{"@timestamp":"${d['@timestamp']}"${key}${JSON.stringify(d[jsonTarget])},${event(d, keepOriginal)}${end(d)}`;
  };
  return { text, json };
}

export interface SubscriptionOptions {
  jsonTarget?: string;
  keepOriginal?: boolean;
  /** `*` globs of log groups whose messages are CloudTrail records. */
  cloudtrailLogGroups?: readonly string[];
  /** The source trusts payloads: a message that is a CloudTrail record is read as one wherever it is. */
  trustEventFields?: boolean;
}

/**
 * A CloudTrail record that reached CloudWatch Logs (trail → log group → subscription). Only a
 * log group the config names, or a source whose payloads are trusted, makes one: otherwise any
 * application could write a CloudTrail-shaped line and have rules take it for AWS's own record.
 */
function cloudTrailFromLogs(
  json: Record<string, unknown> | undefined,
  groupCarriesCloudTrail: boolean,
  opts: SubscriptionOptions,
): boolean {
  return (groupCarriesCloudTrail || opts.trustEventFields === true) && isCloudTrailRecord(json);
}

/**
 * One LogEvent per log event; CONTROL_MESSAGE health checks yield nothing. A message that is a
 * JSON object is parsed into `json` (its raw text is dropped unless `keepOriginal`: storing both
 * doubled the output). The log-group block is shared by every event of a message.
 */
export function* subscriptionEvents(
  msg: SubscriptionMessage,
  opts: SubscriptionOptions = {},
): Iterable<EventDraft> {
  if (msg.messageType === 'CONTROL_MESSAGE') return;
  const jsonTarget = opts.jsonTarget ?? 'json';
  const cloud = { provider: 'aws', account: { id: msg.owner } };
  const groupCarriesCloudTrail = (opts.cloudtrailLogGroups ?? []).some((g) => globMatch(g, msg.logGroup));
  const writers = recordSerializers(msg, cloud, jsonTarget, opts.keepOriginal === true);
  // Joined as eventId joins parts, once per record: the ids are those of the four parts.
  const idPrefix = `${msg.owner}\x1f${msg.logGroup}\x1f${msg.logStream}`;
  for (const le of msg.logEvents) {
    const parsed = parseJsonMessage(le.message);
    const cloudwatch = {
      log_group: msg.logGroup,
      log_stream: msg.logStream,
      subscription_filters: msg.subscriptionFilters,
      event_id: le.id,
    };
    if (parsed && cloudTrailFromLogs(parsed, groupCarriesCloudTrail, opts)) {
      const draft = cloudTrailDraft(parsed, [msg.owner, msg.logGroup, msg.logStream, le.id], {
        account: msg.owner,
      });
      (draft.doc.aws as Record<string, unknown>).cloudwatch = cloudwatch;
      yield draft;
      continue;
    }
    let doc: Record<string, unknown>;
    let toJson: ((d: EcsDocument) => string) | undefined;
    if (!parsed) {
      toJson = writers.text;
      doc = {
        '@timestamp': '',
        message: le.message,
        event: { provider: 'cloudwatch_logs' },
        cloud,
        aws: { cloudwatch },
      };
    } else {
      const json = parsed;
      toJson = writers.json;
      const event: Record<string, unknown> = { provider: 'cloudwatch_logs' };
      if (opts.keepOriginal) event.original = le.message;
      doc = jsonTarget === '' ? { '@timestamp': '', ...json } : { '@timestamp': '', [jsonTarget]: json };
      doc.event =
        jsonTarget === '' && typeof json.event === 'object' ? { ...(json.event as object), ...event } : event;
      doc.cloud = cloud;
      doc.aws = { cloudwatch };
    }
    yield {
      dataset: DATASET,
      timestamp: le.timestamp,
      doc,
      idParts: [idPrefix, le.id],
      toJson,
    };
  }
}

/**
 * Subscription messages: one per Kinesis/Firehose record (gzip or plain), or many back to back
 * in a file or S3 object (`{…}{…}`, possibly multi-member gzip) as Firehose archives them. A
 * file is streamed message by message; a bad message is set aside alone, named by its index
 * and byte offset.
 */
export class CloudWatchLogsParser implements Parser {
  readonly name = 'cloudwatch_logs';
  constructor(private readonly opts: SubscriptionOptions = {}) {}

  /**
   * A record in memory (Kinesis, Firehose, decode) holding one message is parsed synchronously
   * (no promise per event); files and objects, and records holding several messages back to
   * back, are read message by message.
   */
  parse(item: RawItem, ctx: ParseContext): Iterable<EventDraft> | AsyncIterable<EventDraft> {
    const opts = ctx.trustEventFields ? { ...this.opts, trustEventFields: true } : this.opts;
    const body = item.body;
    if (body.kind === 'bytes') return this.record(() => body.bytes, ctx, opts);
    if (body.kind === 'base64') return this.record(() => decodeBase64(body.text, 'record data'), ctx, opts);
    return draftsOf(this.streamed(item, ctx, opts));
  }

  /** See Parser.parseChunks: a file's or object's messages come one array of events each. */
  parseChunks(item: RawItem, ctx: ParseContext): Iterable<DraftChunk> | AsyncIterable<DraftChunk> {
    if (item.body.kind === 'bytes' || item.body.kind === 'base64') return this.parse(item, ctx);
    return this.streamed(
      item,
      ctx,
      ctx.trustEventFields ? { ...this.opts, trustEventFields: true } : this.opts,
    );
  }

  private async *streamed(
    item: RawItem,
    ctx: ParseContext,
    opts: SubscriptionOptions,
  ): AsyncIterable<DraftChunk> {
    if (item.body.kind === 'stream') {
      yield* this.messages(decodedChunks(await openBody(item), item.origin.ref, ctx.limits), ctx, opts);
      return;
    }
    const bytes = await bodyBytes(item, ctx.limits);
    yield* this.record(() => bytes, ctx, opts);
  }

  private record(
    bytesOf: () => Buffer,
    ctx: ParseContext,
    opts: SubscriptionOptions,
  ): Iterable<EventDraft> | AsyncIterable<EventDraft> {
    let plain: Buffer | undefined;
    try {
      const bytes = bytesOf();
      checkRecordSize(bytes.length, ctx.limits, 'record');
      plain = maybeGunzip(bytes, ctx.limits, 'record');
      return subscriptionEvents(validateSubscription(parseJsonBytes(plain, LOG_EVENTS), 'record'), opts);
    } catch (e) {
      if (!(e instanceof SyntaxError)) return failing(e);
      // Several messages back to back (a record copied out of a Firehose archive).
      if (plain && startsWithObject(plain)) return draftsOf(this.messages([plain], ctx, opts));
      return failing(
        new ParseError(`record is not JSON after decompression (${jsonErrorReason(e)})`, { cause: e }),
      );
    }
  }

  private async *messages(
    chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
    ctx: ParseContext,
    opts: SubscriptionOptions,
  ): AsyncIterable<DraftChunk> {
    const scanner = new ConcatenatedJsonScanner(ctx.limits.max_record_bytes, 'input');
    const found: ScannedObject[] = [];
    for await (const chunk of chunks) {
      scanner.push(chunk, found);
      for (const o of found) {
        const msg = await this.message(o, ctx);
        if (msg) yield [...subscriptionEvents(msg, opts)];
      }
      found.length = 0;
    }
    scanner.end();
    if (scanner.objectCount === 0) throw new ParseError('holds no CloudWatch Logs subscription message');
  }

  private async message(o: ScannedObject, ctx: ParseContext): Promise<SubscriptionMessage | undefined> {
    const ref = `message ${o.index} at uncompressed byte ${o.offset}`;
    try {
      if (!o.bytes) {
        throw new LimitError(
          `${ref} is ${o.size} bytes, over the ${ctx.limits.max_record_bytes}-byte record limit`,
        );
      }
      let json: unknown;
      try {
        json = parseJsonBytes(o.bytes, LOG_EVENTS);
      } catch (e) {
        throw new ParseError(`${ref} is not valid JSON (${jsonErrorReason(e)})`, { cause: e });
      }
      return validateSubscription(json, ref);
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      await ctx.reject({ ref, data: o.bytes }, e);
      return undefined;
    }
  }
}

/** Errors surface when the events are read, as they would from a generator that failed. */
function failing(e: unknown): Iterable<never> {
  return {
    [Symbol.iterator]: () => ({
      next: () => {
        throw e;
      },
    }),
  };
}

function startsWithObject(buf: Buffer): boolean {
  for (const c of buf) {
    if (c > 0x20) return c === 0x7b;
  }
  return false;
}

export function create(opts: Record<string, unknown> = {}): Parser {
  const o = cloudwatchLogsParserSchema.parse(opts);
  return new CloudWatchLogsParser({
    jsonTarget: o.json_target,
    keepOriginal: o.keep_original,
    cloudtrailLogGroups: o.cloudtrail_log_groups,
  });
}
