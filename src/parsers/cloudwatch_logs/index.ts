import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import { jsonErrorReason, LimitError, ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { globMatch } from '../../core/glob.js';
import { checkRecordSize, maybeGunzip } from '../../core/limits.js';
import { bodyBytes, openBody } from '../bytes.js';
import { cloudTrailDraft, isCloudTrailRecord } from '../cloudtrail/index.js';
import { decodedChunks } from '../decode.js';
import { ConcatenatedJsonScanner, type ScannedObject } from '../json_stream.js';
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
  const text = maybeGunzip(bytes, ctx.limits, what).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ParseError(`${what} is not JSON after decompression (${jsonErrorReason(e)})`, { cause: e });
  }
  return validateSubscription(json, what);
}

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

/** Parses a message that is a JSON object; other messages stay plain text. */
function parseJsonMessage(message: string): Record<string, unknown> | undefined {
  const t = message.trimEnd();
  if (t.length < 2 || t[0] !== '{' || t[t.length - 1] !== '}') return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
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
  for (const le of msg.logEvents) {
    const json = parseJsonMessage(le.message);
    const cloudwatch = {
      log_group: msg.logGroup,
      log_stream: msg.logStream,
      subscription_filters: msg.subscriptionFilters,
      event_id: le.id,
    };
    if (json && cloudTrailFromLogs(json, groupCarriesCloudTrail, opts)) {
      const draft = cloudTrailDraft(json, [msg.owner, msg.logGroup, msg.logStream, le.id], {
        account: msg.owner,
      });
      (draft.doc.aws as Record<string, unknown>).cloudwatch = cloudwatch;
      yield draft;
      continue;
    }
    let doc: Record<string, unknown>;
    if (!json) {
      doc = {
        '@timestamp': '',
        message: le.message,
        event: { provider: 'cloudwatch_logs' },
        cloud,
        aws: { cloudwatch },
      };
    } else {
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
      idParts: [msg.owner, msg.logGroup, msg.logStream, le.id],
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

  async *parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    const opts = ctx.trustEventFields ? { ...this.opts, trustEventFields: true } : this.opts;
    if (item.body.kind === 'stream') {
      yield* this.messages(decodedChunks(await openBody(item), item.origin.ref, ctx.limits), ctx, opts);
      return;
    }
    const bytes = await bodyBytes(item, ctx.limits);
    checkRecordSize(bytes.length, ctx.limits, 'record');
    const plain = maybeGunzip(bytes, ctx.limits, 'record');
    let json: unknown;
    try {
      json = JSON.parse(plain.toString('utf8'));
    } catch (e) {
      if (!startsWithObject(plain)) {
        throw new ParseError(`record is not JSON after decompression (${jsonErrorReason(e)})`, { cause: e });
      }
      // Several messages back to back (a record copied out of a Firehose archive).
      yield* this.messages([plain], ctx, opts);
      return;
    }
    yield* subscriptionEvents(validateSubscription(json, 'record'), opts);
  }

  private async *messages(
    chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
    ctx: ParseContext,
    opts: SubscriptionOptions,
  ): AsyncIterable<EventDraft> {
    const scanner = new ConcatenatedJsonScanner(ctx.limits.max_record_bytes, 'input');
    const found: ScannedObject[] = [];
    for await (const chunk of chunks) {
      scanner.push(chunk, found);
      for (const o of found) {
        const msg = await this.message(o, ctx);
        if (msg) yield* subscriptionEvents(msg, opts);
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
        json = JSON.parse(o.bytes.toString('utf8'));
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
