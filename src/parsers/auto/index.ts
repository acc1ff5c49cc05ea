import type { RawItem } from '../../core/batch.js';
import { type DraftChunk, draftsOf, type ParseContext, type Parser } from '../../core/component.js';
import { jsonErrorReason, ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { contentHash } from '../../core/ids.js';
import { checkRecordSize, decodeBase64, isGzip, maybeGunzip } from '../../core/limits.js';
import { bodyBytes, openBody } from '../../formats/bytes.js';
import { assertText } from '../../formats/decode.js';
import { envelopeParts } from '../../formats/envelope.js';
import { fittingLines, itemLines, type Line } from '../../formats/lines.js';
import { formatFromKey, sniffFormat } from '../aws_logs/detect.js';
import { awsLogParser, headText, peek } from '../aws_logs/index.js';
import { looksLikeSubscription, subscriptionEvents, validateSubscription } from '../cloudwatch_logs/index.js';
import type { SubscriptionMessage } from '../cloudwatch_logs/schema.js';
import { jsonLineDraft } from '../json_lines/draft.js';

const SNIFF_BYTES = 16 * 1024;
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

/**
 * Whether a line is one base64 token: what `/^[A-Za-z0-9+/]{16,}={0,2}$/` says, checked as a
 * search for a stray character instead, which V8 runs several times faster on 10 KB records.
 */
export function isBase64Token(text: string): boolean {
  let n = text.length;
  if (text.charCodeAt(n - 1) === 0x3d) n--;
  if (text.charCodeAt(n - 1) === 0x3d) n--;
  if (n < 16) return false;
  const eq = text.indexOf('=');
  return (eq === -1 || eq >= n) && !NOT_BASE64.test(text);
}

/**
 * Recognizes what arrives at an inbox or a stream: CloudWatch Logs subscription payloads (gzip or
 * plain, one or many back to back), Lambda events wrapping payloads (Kinesis, Firehose, SQS, and
 * CloudWatch Logs subscribed directly: `{"awslogs":{"data":…}}`), base64 records, JSON
 * documents, JSON lines and plain text lines. Used where a source carries mixed content.
 */
export class AutoParser implements Parser {
  readonly name = 'auto';

  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return draftsOf(this.parseChunks(item, ctx));
  }

  /** See Parser.parseChunks: a CloudWatch Logs record's events come as one array. */
  async *parseChunks(item: RawItem, ctx: ParseContext): AsyncIterable<DraftChunk> {
    if (item.body.kind === 'object') {
      yield* this.fromJson(item.body.value, item, ctx, 'object');
      return;
    }
    if (item.body.kind === 'bytes' || item.body.kind === 'base64') {
      const bytes = await bodyBytes(item, ctx.limits);
      checkRecordSize(bytes.length, ctx.limits, 'record');
      yield* this.fromBytes(bytes, item, ctx, item.body.kind === 'base64' ? 1 : 0);
      return;
    }
    yield* this.fromFile(item, ctx);
  }

  /**
   * fromFile reads a file a line at a time, each line alone (fromLine), unless its name or first
   * bytes say an AWS log file, or it starts as one JSON document (a first line that does not parse).
   */
  readsLinesAlone(item: RawItem, head: Buffer): boolean {
    if (item.body.kind !== 'stream' || isGzip(head)) return false;
    if (formatFromKey(String(item.origin.attrs?.key ?? item.origin.ref))) return false;
    const text = headText(head);
    if (sniffFormat(text)) return false;
    const start = text.trimStart();
    if (!start.startsWith('{') && !start.startsWith('[')) return true;
    const nl = start.indexOf('\n');
    // A first line longer than the head cannot be told from the start of a document.
    return nl !== -1 && parsesAsJson(start.slice(0, nl).trim());
  }

  /** See Parser.parseLines: fromLine on each, as fromStream does after the first line. */
  async *parseLines(item: RawItem, lines: readonly Line[], ctx: ParseContext): AsyncIterable<DraftChunk> {
    for (const line of await fittingLines(lines, ctx)) yield* this.fromLine(line, item, ctx);
  }

  /**
   * A whole file: AWS log files (CloudTrail, ELB/ALB/NLB, known by their key layout or their
   * first bytes) go to their own parsers; everything else is read line by line.
   */
  private async *fromFile(item: RawItem, ctx: ParseContext): AsyncIterable<DraftChunk> {
    const key = String(item.origin.attrs?.key ?? item.origin.ref);
    const byKey = formatFromKey(key);
    if (byKey === 'digest') return;
    if (byKey) {
      yield* awsLogParser(byKey).parse(item, ctx);
      return;
    }
    const { head, all } = await peek(await openBody(item), SNIFF_BYTES);
    const text = headText(head);
    const format = sniffFormat(text);
    const rest: RawItem = { ...item, body: { kind: 'stream', open: async () => all } };
    if (format) {
      yield* awsLogParser(format).parse(rest, ctx);
      return;
    }
    if (prettyPrinted(text)) {
      // Read whole from what the peek holds, not opened again: standard input cannot be.
      yield* this.fromBytes(await bodyBytes(rest, ctx.limits), item, ctx, 0);
      return;
    }
    yield* this.fromStream(rest, ctx, true, item);
  }

  /**
   * Files: JSON lines and text stream line by line; a single JSON document is read whole
   * (capped), from `reopen`, the item that can be read again from its start.
   */
  private async *fromStream(
    item: RawItem,
    ctx: ParseContext,
    wholeFallback = true,
    reopen: RawItem = item,
  ): AsyncIterable<DraftChunk> {
    const lines = itemLines(item, ctx)[Symbol.asyncIterator]();
    let first: IteratorResult<Line>;
    do first = await lines.next();
    while (!first.done && first.value.text.trim() === '');
    if (first.done) return;
    const head = first.value.text.trimStart();
    if ((head.startsWith('{') || head.startsWith('[')) && !parsesAsJson(head)) {
      await lines.return?.();
      if (!wholeFallback) throw new ParseError('record is not valid JSON');
      // A pretty-printed document: read it whole, within the cap.
      yield* this.fromBytes(await bodyBytes(reopen, ctx.limits), item, ctx, 0);
      return;
    }
    yield* this.fromLine(first.value, item, ctx);
    for (let r = await lines.next(); !r.done; r = await lines.next())
      yield* this.fromLine(r.value, item, ctx);
  }

  private async *fromLine(line: Line, item: RawItem, ctx: ParseContext): AsyncIterable<DraftChunk> {
    const ref = `line ${line.no}`;
    const text = line.text.trim();
    if (text === '') return;
    try {
      if (text.startsWith('{') || text.startsWith('[')) {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new ParseError(`${ref} is not valid JSON (${jsonErrorReason(e)})`);
        }
        yield* this.fromJson(value, item, ctx, ref, line.no, text);
      } else if (isBase64Token(text)) {
        const bytes = decodeBase64(text, ref);
        const subscription = subscriptionIn(bytes, ctx, ref);
        // The common line (a CloudWatch Logs record) skips two generator layers, and its events
        // go up as one chunk: read inside this try, so a record that fails midway is set aside whole.
        if (subscription) yield [...subscriptionEvents(subscription)];
        else yield* this.fromBytes(bytes, item, ctx, 1, ref);
      } else {
        yield textDraft(text, [item.origin.ref, line.no, contentHash(text)]);
      }
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      await ctx.reject({ ref, data: line.text }, e);
    }
  }

  private async *fromBytes(
    bytes: Buffer,
    item: RawItem,
    ctx: ParseContext,
    depth: number,
    what = 'record',
  ): AsyncIterable<DraftChunk> {
    const plain = maybeGunzip(bytes, ctx.limits, what);
    assertText(plain, what);
    const text = plain.toString('utf8').trim();
    if (text === '') throw new ParseError(`${what} is empty`);
    if (text.startsWith('{') || text.startsWith('[')) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        if (text.includes('\n')) {
          // Maybe JSON lines; a document that is broken as a whole is reported as such.
          yield* this.fromStream({ ...item, body: { kind: 'bytes', bytes: plain } }, ctx, false);
          return;
        }
        throw new ParseError(`${what} is not valid JSON (${jsonErrorReason(e)})`, { cause: e });
      }
      yield* this.fromJson(value, item, ctx, what, undefined, text);
      return;
    }
    if (depth === 0 && isBase64Token(text)) {
      yield* this.fromBytes(decodeBase64(text, what), item, ctx, depth + 1, what);
      return;
    }
    if (isGzip(bytes)) throw new ParseError(`${what} is gzip but holds neither JSON nor text lines`);
    yield* this.fromStream({ ...item, body: { kind: 'bytes', bytes: plain } }, ctx, false);
  }

  private async *fromJson(
    value: unknown,
    item: RawItem,
    ctx: ParseContext,
    what: string,
    lineNo?: number,
    text?: string,
  ): AsyncIterable<DraftChunk> {
    if (looksLikeSubscription(value)) {
      yield [
        ...subscriptionEvents(validateSubscription(value, what), { trustEventFields: ctx.trustEventFields }),
      ];
      return;
    }
    const parts = envelopeParts(value);
    if (parts) {
      for (const part of parts) {
        const ref = `${what === 'record' || what === 'object' ? '' : `${what} `}${part.ref}`;
        const body = part.body as { kind: 'base64'; text: string } | { kind: 'bytes'; bytes: Buffer };
        try {
          const bytes = body.kind === 'base64' ? decodeBase64(body.text, 'record data') : body.bytes;
          yield* this.fromBytes(bytes, item, ctx, 1, 'record');
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
          await ctx.reject({ ref, data: body.kind === 'base64' ? body.text : body.bytes }, e);
        }
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) {
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          let draft: EventDraft;
          try {
            draft = jsonLineDraft(
              v as Record<string, unknown>,
              'generic.json',
              [item.origin.ref, lineNo ?? 0, i, contentHash(JSON.stringify(v))],
              ctx.trustEventFields,
            );
          } catch (e) {
            if (!(e instanceof ParseError)) throw e;
            await ctx.reject({ ref: `${what}[${i}]`, data: JSON.stringify(v) }, e);
            continue;
          }
          yield draft;
        } else
          await ctx.reject(
            { ref: `${what}[${i}]`, data: JSON.stringify(v) },
            new ParseError(`${what}[${i}] is not a JSON object`),
          );
      }
      return;
    }
    if (value && typeof value === 'object') {
      // A refused claim throws a ParseError: the line (or the item) is set aside like bad JSON.
      yield jsonLineDraft(
        value as Record<string, unknown>,
        'generic.json',
        [item.origin.ref, lineNo ?? 0, contentHash(text ?? JSON.stringify(value))],
        ctx.trustEventFields,
      );
      return;
    }
    throw new ParseError(`${what} is JSON but not an object`);
  }
}

/**
 * The subscription message a record holds, if it is one (as fromBytes would find it); anything
 * else, including JSON that does not parse, is left to fromBytes and its error messages.
 */
function subscriptionIn(bytes: Buffer, ctx: ParseContext, what: string): SubscriptionMessage | undefined {
  const text = maybeGunzip(bytes, ctx.limits, what).toString('utf8').trim();
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return looksLikeSubscription(value) ? validateSubscription(value, what) : undefined;
}

/** A head whose first whole non-empty line opens JSON that does not parse alone: one document over lines. */
function prettyPrinted(head: string): boolean {
  let from = 0;
  for (let nl = head.indexOf('\n'); nl !== -1; from = nl + 1, nl = head.indexOf('\n', from)) {
    const line = head.slice(from, nl).trim();
    if (line === '') continue;
    return (line.startsWith('{') || line.startsWith('[')) && !parsesAsJson(line);
  }
  return false;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function textDraft(text: string, idParts: (string | number)[]): EventDraft {
  return {
    dataset: 'generic.text',
    timestamp: Date.now(),
    doc: { message: text, event: { kind: 'event' } },
    idParts,
  };
}

export function create(): Parser {
  return new AutoParser();
}
