import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import { jsonErrorReason, ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { checkRecordSize, maybeGunzip } from '../../core/limits.js';
import { bodyBytes } from '../bytes.js';
import { type SubscriptionMessage, subscriptionMessageSchema } from './schema.js';

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
  return parsed.data;
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

/** One LogEvent per log event; CONTROL_MESSAGE health checks yield nothing. */
export function* subscriptionEvents(msg: SubscriptionMessage, jsonTarget = 'json'): Iterable<EventDraft> {
  if (msg.messageType === 'CONTROL_MESSAGE') return;
  const cloudwatch = {
    log_group: msg.logGroup,
    log_stream: msg.logStream,
    subscription_filters: msg.subscriptionFilters,
    owner: msg.owner,
  };
  for (const le of msg.logEvents) {
    const json = parseJsonMessage(le.message);
    const base: Record<string, unknown> = {
      message: le.message,
      event: { kind: 'event', provider: 'cloudwatch_logs' },
      cloud: { provider: 'aws', account: { id: msg.owner } },
      aws: { cloudwatch: { ...cloudwatch, event_id: le.id } },
    };
    const doc =
      json && jsonTarget === '' ? { ...json, ...base } : json ? { ...base, [jsonTarget]: json } : base;
    yield {
      dataset: DATASET,
      timestamp: le.timestamp,
      doc,
      idParts: [msg.owner, msg.logGroup, msg.logStream, le.id],
    };
  }
}

export class CloudWatchLogsParser implements Parser {
  readonly name = 'cloudwatch_logs';
  constructor(private readonly jsonTarget = 'json') {}

  async *parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    const bytes = await bodyBytes(item, ctx.limits);
    yield* subscriptionEvents(decodeSubscription(bytes, ctx), this.jsonTarget);
  }
}

export function create(opts: { json_target?: string } = {}): Parser {
  return new CloudWatchLogsParser(opts.json_target ?? 'json');
}
