import type { RawItem } from '../core/batch.js';
import type { ParseContext } from '../core/component.js';
import { jsonErrorReason, ParseError } from '../core/errors.js';
import type { EcsDocument, EventDraft } from '../core/event.js';

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The Duo event an item carries: an object from the duo source, or JSON bytes when replayed. */
export function duoEvent(item: RawItem): Json {
  const b = item.body;
  let value: unknown;
  if (b.kind === 'object') value = b.value;
  else {
    const text =
      b.kind === 'bytes'
        ? b.bytes.toString('utf8')
        : b.kind === 'base64'
          ? Buffer.from(b.text, 'base64').toString('utf8')
          : '';
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ParseError(`not a JSON Duo event (${jsonErrorReason(e)})`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ParseError('a Duo event must be a JSON object');
  return value as Json;
}

/**
 * The event as Duo sent it, for `format: original` sinks: the item's own text when it arrived as
 * bytes (a replay) or came with its text from Duo's page, else the API's object serialized before
 * any parser change (one compact JSON object, Duo's key order).
 */
export function duoOriginal(item: RawItem, event: Json): string {
  const b = item.body;
  if (b.kind === 'bytes') return b.bytes.toString('utf8');
  if (b.kind === 'base64') return Buffer.from(b.text, 'base64').toString('utf8');
  if (b.kind === 'object' && b.text !== undefined) return b.text;
  return JSON.stringify(event);
}

/** What a Duo parser needs of the event's text; see duoTexts. */
export interface DuoTexts {
  original: string;
  /** The text the document's `duo` member is written as (duoDocument), when there is one on one line. */
  json: string | undefined;
  /** JSON.stringify(event), what an id from the event's content hashes, when it was made here. */
  stringified: string | undefined;
}

/**
 * The event serialized at most once, for all that needs its text: `original`, a content id, and
 * the `duo` member of the document (see duoDocument). From the duo source the event comes with
 * its text as Duo wrote it (one line, checked by the client): that text is all three and nothing
 * is serialized, except JSON.stringify for a content id (the id of the event a replay brings back
 * as bytes, whose spacing may differ). Without its text, JSON.stringify(event) is all three. A
 * replayed item's `original` is its own text, and its document is written by JSON.stringify.
 */
export function duoTexts(item: RawItem, event: Json): DuoTexts {
  const b = item.body;
  if (b.kind !== 'object')
    return { original: duoOriginal(item, event), json: undefined, stringified: undefined };
  if (b.text !== undefined) return { original: b.text, json: b.text, stringified: undefined };
  const json = JSON.stringify(event);
  return { original: json, json, stringified: json };
}

/**
 * A Duo document: the ECS members, then the event as Duo sent it under `duo` (finalizeEvent adds
 * `@timestamp` after them). Given the event's text (`json`: Duo's own, or JSON.stringify's made
 * for `original`), its writer (EventDraft.toJson) serializes only the ECS part and splices that
 * text in, so the event — most of the document — is not serialized again. The result is the JSON
 * of doc (byte for byte JSON.stringify(doc) when `json` is JSON.stringify's; with Duo's text, its
 * escapes and number forms) for this shape (checked: finalizeEvent adds the id to `event`, the
 * ECS object's own, and `@timestamp` last) while the event is unchanged (parsers never change it;
 * toJson is not used after a transform). A doc of another shape is left to JSON.stringify.
 */
export function duoDocument(
  ecs: Json,
  event: Json,
  json: string | undefined,
): { doc: Json; toJson?: (doc: EcsDocument) => string } {
  const doc = { ...ecs, duo: event };
  if (json === undefined) return { doc };
  const toJson = (d: EcsDocument) =>
    d.duo === event && isEcsThenDuo(d, ecs)
      ? `${ecsHead(JSON.stringify(ecs))}"duo":${json},"@timestamp":${JSON.stringify(d['@timestamp'])}}`
      : JSON.stringify(d);
  return { doc, toJson };
}

/** Whether `doc` is `ecs`'s members (the same values, in order), then `duo`, then `@timestamp`. */
function isEcsThenDuo(doc: EcsDocument, ecs: Json): boolean {
  const keys = Object.keys(doc);
  let i = 0;
  for (const k in ecs) if (keys[i++] !== k || doc[k] !== ecs[k]) return false;
  return keys.length === i + 2 && keys[i] === 'duo' && keys[i + 1] === '@timestamp';
}

/** `{…,` of an object's JSON, ready for more members. */
function ecsHead(objectJson: string): string {
  return objectJson === '{}' ? '{' : `${objectJson.slice(0, -1)},`;
}

/** Milliseconds from an ISO time (sub-second precision) or Unix seconds. */
export function duoTime(iso: unknown, seconds: unknown): number | undefined {
  if (typeof iso === 'string') {
    const t = Date.parse(iso);
    if (Number.isFinite(t)) return t;
  }
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  return undefined;
}

/**
 * One Duo item through a parser's `draft`: the draft alone, synchronously (an async generator per
 * event cost more than the mapping), or nothing when `draft` says why the event is set aside
 * (with its content, so a replay can retry it). An unreadable item fails when read, as before.
 */
export function parseDuoEvent(
  item: RawItem,
  ctx: ParseContext,
  log: string,
  draft: (e: Json) => EventDraft | string,
): Iterable<EventDraft> | AsyncIterable<EventDraft> {
  let e: Json;
  try {
    e = duoEvent(item);
  } catch (err) {
    return failing(err);
  }
  const d = draft(e);
  return typeof d === 'string' ? rejecting(ctx, e, log, d) : [d];
}

// biome-ignore lint/correctness/useYield: it only throws, where the caller reads
async function* failing(err: unknown): AsyncIterable<EventDraft> {
  throw err;
}

// biome-ignore lint/correctness/useYield: a set-aside event yields nothing
async function* rejecting(
  ctx: ParseContext,
  event: Json,
  log: string,
  why: string,
): AsyncIterable<EventDraft> {
  await ctx.reject({ ref: 'event', data: JSON.stringify(event) }, new ParseError(`Duo ${log} event ${why}`));
}

/** ECS geo from Duo's `location` object. */
export function geo(location: unknown): Json | undefined {
  const l = obj(location);
  const g: Json = {};
  if (str(l.city)) g.city_name = l.city;
  if (str(l.state)) g.region_name = l.state;
  if (str(l.country)) g.country_name = l.country;
  return Object.keys(g).length ? g : undefined;
}

/**
 * Drops undefined members (and objects left empty) so documents stay small and clean. Walks keys
 * with for…in: Object.entries made an array per member, per event.
 */
export function compact(v: Json): Json {
  const out: Json = {};
  for (const k in v) {
    const x = v[k];
    if (x === undefined) continue;
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      const c = compact(x as Json);
      if (!isEmpty(c)) out[k] = c;
    } else if (!(Array.isArray(x) && x.length === 0)) out[k] = x;
  }
  return out;
}

function isEmpty(o: Json): boolean {
  for (const _ in o) return false;
  return true;
}
