import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import { jsonErrorReason, ParseError } from '../../core/errors.js';
import type { EcsDocument, EventDraft } from '../../core/event.js';
import { checkRecordSize, decodeBase64, maybeGunzip } from '../../core/limits.js';
import { bodyBytes } from '../bytes.js';
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
  const event = (d: CloudWatchDoc, original: boolean) =>
    `"event":{"provider":"cloudwatch_logs",${original ? `"original":${JSON.stringify(d.event.original)},` : ''}"id":${JSON.stringify(d.event.id)},"dataset":${JSON.stringify(d.event.dataset)}}`;
  const end = (d: CloudWatchDoc) => `${tail}${JSON.stringify(d.aws.cloudwatch.event_id)}}}}`;
  const text = (doc: EcsDocument) => {
    const d = doc as CloudWatchDoc;
    return `{"@timestamp":${JSON.stringify(d['@timestamp'])},"message":${JSON.stringify(d.message)},${event(d, false)}${end(d)}`;
  };
  if (jsonTarget === '' || ['@timestamp', 'event', 'cloud', 'aws'].includes(jsonTarget))
    return { text, json: undefined };
  const key = `,${JSON.stringify(jsonTarget)}:`;
  const json = (doc: EcsDocument) => {
    const d = doc as CloudWatchDoc;
    return `{"@timestamp":${JSON.stringify(d['@timestamp'])}${key}${JSON.stringify(d[jsonTarget])},${event(d, keepOriginal)}${end(d)}`;
  };
  return { text, json };
}

export interface SubscriptionOptions {
  jsonTarget?: string;
  keepOriginal?: boolean;
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

export class CloudWatchLogsParser implements Parser {
  readonly name = 'cloudwatch_logs';
  constructor(private readonly opts: SubscriptionOptions = {}) {}

  /** Records already in memory (Kinesis, Firehose, decode) are parsed synchronously; streams are read first. */
  parse(item: RawItem, ctx: ParseContext): Iterable<EventDraft> | AsyncIterable<EventDraft> {
    const body = item.body;
    if (body.kind === 'bytes' || body.kind === 'base64') return this.inMemory(body, ctx);
    return this.streamed(item, ctx);
  }

  private *inMemory(
    body: { kind: 'bytes'; bytes: Buffer } | { kind: 'base64'; text: string },
    ctx: ParseContext,
  ): Iterable<EventDraft> {
    const bytes = body.kind === 'bytes' ? body.bytes : decodeBase64(body.text, 'record data');
    yield* subscriptionEvents(decodeSubscription(bytes, ctx), this.opts);
  }

  private async *streamed(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    const bytes = await bodyBytes(item, ctx.limits);
    yield* subscriptionEvents(decodeSubscription(bytes, ctx), this.opts);
  }
}

export function create(opts: Record<string, unknown> = {}): Parser {
  const o = cloudwatchLogsParserSchema.parse(opts);
  return new CloudWatchLogsParser({ jsonTarget: o.json_target, keepOriginal: o.keep_original });
}
