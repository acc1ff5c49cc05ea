import type { RawItem } from '../../core/batch.js';
import { draftsOf, type ParseContext, type Parser } from '../../core/component.js';
import { ParseError } from '../../core/errors.js';
import type { EcsDocument, EventDraft } from '../../core/event.js';
import { itemLineBatches } from '../lines.js';
import { tokenize } from './tokenize.js';

/** `-` (and `-1` for numbers) is how the load balancers write "no value". */
export function str(v: string | undefined): string | undefined {
  return v === undefined || v === '-' || v === '' ? undefined : v;
}

/** A number, or undefined for `-`, `-1` and anything that is not a number. */
export function num(v: string | undefined): number | undefined {
  if (v === undefined || v === '-' || v === '-1') return undefined;
  const d = digitsValue(v, 0);
  if (d !== undefined) return d;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The value of `v` from `from` to its end when that is 1–15 ASCII digits (exactly what Number
 * gives for them), else undefined. Most numbers in these logs are counts, codes and ports, and
 * Number() was several times slower on them.
 */
export function digitsValue(v: string, from: number): number | undefined {
  const end = v.length;
  if (end <= from || end - from > 15) return undefined;
  let n = 0;
  for (let i = from; i < end; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n;
}

export function int(v: string | undefined): number | undefined {
  const n = num(v);
  return n === undefined ? undefined : Math.trunc(n);
}

/** `"GET https://host:443/path HTTP/1.1"` → method, URL, version; TCP listeners write `"- - - "`. */
export function splitRequest(v: string | undefined): { method?: string; url?: string; version?: string } {
  const s = v?.trim();
  if (!s || s === '- - -') return {};
  const a = s.indexOf(' ');
  const b = s.lastIndexOf(' ');
  if (a === -1) return { url: s };
  const method = s.slice(0, a);
  if (a === b) return { method: str(method), url: str(s.slice(a + 1)) };
  const last = s.slice(b + 1);
  const hasVersion = last.startsWith('HTTP/') || last === '-';
  return {
    method: str(method),
    url: str(hasVersion ? s.slice(a + 1, b) : s.slice(a + 1)),
    version: hasVersion ? str(last.startsWith('HTTP/') ? last.slice(5) : last) : undefined,
  };
}

/** `TLSv1.2` → ECS `tls.version` 1.2 with protocol tls; `tlsv12` (NLB) → 1.2. */
const tlsSeen = new Map<string, { version_protocol: string; version: string } | undefined>();

export function tlsVersion(v: string | undefined): { version_protocol: string; version: string } | undefined {
  const s = str(v);
  if (!s) return undefined;
  // A handful of distinct values in any log: parse each once.
  if (tlsSeen.has(s)) return tlsSeen.get(s);
  const m = /^(tls|ssl)v?(\d)\.?(\d)?$/i.exec(s);
  const out = m
    ? { version_protocol: m[1]!.toLowerCase(), version: m[3] === undefined ? m[2]! : `${m[2]}.${m[3]}` }
    : undefined;
  if (tlsSeen.size < 64) tlsSeen.set(s, out);
  return out;
}

/** Where a line came from, for ids: bucket + key + etag/version when the item is an S3 object. */
export function objectIdentity(item: RawItem): string[] {
  const a = item.origin.attrs ?? {};
  if (a.bucket !== undefined && a.key !== undefined) {
    return [String(a.bucket), String(a.key), String(a.etag ?? a.version_id ?? a.size ?? '')];
  }
  return [item.origin.ref];
}

const AWSLOGS = /(?:^|\/)AWSLogs\/(?:o-[a-z0-9]+\/)?(\d{12})\/[A-Za-z-]+\/([a-z0-9-]+)\//;

/** Account and region from an `AWSLogs/<account>/<service>/<region>/` key, for `cloud.*`. */
export function keyContext(key: string): { account?: string; region?: string } {
  const m = AWSLOGS.exec(key);
  return m ? { account: m[1], region: m[2] } : {};
}

/** `cloud.*` from the object key's AWSLogs layout (computed once per object, shared by its lines). */
export function cloudFromItem(item: RawItem): Record<string, unknown> {
  const key = item.origin.attrs?.key;
  const ctx = typeof key === 'string' ? keyContext(key) : {};
  const cloud: Record<string, unknown> = { provider: 'aws' };
  if (ctx.account) cloud.account = { id: ctx.account };
  if (ctx.region) cloud.region = ctx.region;
  return cloud;
}

/** What the lines of one object share, handed to LineFormat.build with each line. */
export interface LineFile {
  /** `cloud.*` from the object key (cloudFromItem), one object for all the lines. */
  cloud: Record<string, unknown>;
  /** Also write the `aws.elb.*` copies of ECS fields (see lbParserSchema). */
  copies: boolean;
  /** The format's writer for this object's docs (LineFormat.writer), for EventDraft.toJson. */
  toJson: (doc: EcsDocument) => string;
}

export interface LineFormat {
  /** Name for error messages, e.g. "ALB". */
  label: string;
  minFields: number;
  /** Most fields a line can have; undefined = any number (newer fields are appended over time). */
  maxFields?: number;
  /** Builds the draft from the tokens; returns a reason string when the line is not of this format. */
  build(f: string[], idParts: (string | number)[], file: LineFile): EventDraft | string;
  /**
   * Writes a finalized doc of this format as the exact text JSON.stringify gives (EventDraft.toJson),
   * with `cloud`, the object's shared block, serialized once.
   */
  writer(cloud: Record<string, unknown>): (doc: EcsDocument) => string;
}

function fieldCountProblem(fmt: LineFormat, count: number): string | undefined {
  if (count >= fmt.minFields && (fmt.maxFields === undefined || count <= fmt.maxFields)) return undefined;
  const want =
    fmt.maxFields === undefined
      ? `at least ${fmt.minFields}`
      : fmt.minFields === fmt.maxFields
        ? `${fmt.minFields}`
        : `${fmt.minFields}–${fmt.maxFields}`;
  return `has ${count} fields, ${fmt.label} lines have ${want}`;
}

/**
 * Streams an object line by line through one line format, handing over the drafts of each
 * decoded chunk together (Parser.parseChunks: one promise per chunk, not per line). A bad line
 * (wrong field count, bad time, unclosed quote, too long) is set aside with ctx.reject and the
 * rest go on; damaged gzip ends the item with the ParseError from readLines (events before it
 * are kept).
 */
export async function* parseLineChunks(
  item: RawItem,
  ctx: ParseContext,
  fmt: LineFormat,
  copies = false,
): AsyncIterable<EventDraft[]> {
  // eventId joins the parts with \x1f: the object's parts joined once give the same ids.
  const base = objectIdentity(item).join('\x1f');
  const cloud = cloudFromItem(item);
  const file: LineFile = { cloud, copies, toJson: fmt.writer(cloud) };
  const fields: string[] = [];
  for await (const lines of itemLineBatches(item, ctx)) {
    const drafts: EventDraft[] = [];
    for (const line of lines) {
      if (line.text === '' || line.text.trim() === '') continue;
      const f = tokenize(line.text, fields);
      let draft: EventDraft | string;
      if (!f) draft = 'has an unclosed quoted field';
      else draft = fieldCountProblem(fmt, f.length) ?? fmt.build(f, [base, line.no], file);
      if (typeof draft === 'string') {
        const ref = `line ${line.no}`;
        await ctx.reject(
          { ref, data: line.text },
          new ParseError(`${ref} is not a ${fmt.label} access log line: it ${draft}`),
        );
        continue;
      }
      drafts.push(draft);
    }
    if (drafts.length > 0) yield drafts;
  }
}

/** The format's parser over parseLineChunks: `parse` and `parseChunks` for the three formats. */
export class LineParser implements Parser {
  constructor(
    readonly name: string,
    private readonly fmt: LineFormat,
    private readonly copies: boolean,
  ) {}
  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return draftsOf(this.parseChunks(item, ctx));
  }
  parseChunks(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft[]> {
    return parseLineChunks(item, ctx, this.fmt, this.copies);
  }
}

/** ISO time to milliseconds; NLB writes no zone (it is UTC). */
export function isoMillis(v: string | undefined): number | undefined {
  if (!v || v === '-') return undefined;
  const fast = utcMillis(v);
  if (fast !== undefined) return fast;
  const last = v.charCodeAt(v.length - 1);
  const zoned = last === 0x5a || last === 0x7a || /[+-]\d\d:?\d\d$/.test(v);
  const t = Date.parse(zoned ? v : `${v}Z`);
  return Number.isNaN(t) ? undefined : t;
}

const digit = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : Number.NaN;
};
const two = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);

// Lines come in time order, many to the second: the second's text and value are kept from the
// line before, and a line of the same second only reads its fraction.
let secondText = '';
let secondMillis = 0;

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the form every load balancer writes, read without
 * Date.parse (a third of the line's parse time). Gives Date.parse's answer or undefined for
 * anything else, which then goes to Date.parse: so both always agree.
 */
function utcMillis(v: string): number | undefined {
  const n = v.length;
  if (n < 20 || v.charCodeAt(n - 1) !== 0x5a) return undefined;
  let ms = 0;
  if (n > 20) {
    // Date.parse keeps milliseconds: the first three digits, padded.
    if (v[19] !== '.' || n === 21) return undefined;
    for (let i = 20; i < n - 1; i++) if (Number.isNaN(digit(v, i))) return undefined;
    ms = digit(v, 20) * 100 + (n > 22 ? digit(v, 21) * 10 : 0) + (n > 23 ? digit(v, 22) : 0);
  }
  if (secondText !== '' && v.startsWith(secondText)) return secondMillis + ms;
  const second = secondOf(v);
  if (second === undefined) return undefined;
  secondText = v.slice(0, 19);
  secondMillis = second;
  return second + ms;
}

/** The `YYYY-MM-DDTHH:MM:SS` that `v` starts with, in milliseconds, or undefined. */
function secondOf(v: string): number | undefined {
  if (v[4] !== '-' || v[7] !== '-' || v[10] !== 'T' || v[13] !== ':' || v[16] !== ':') return undefined;
  const year = two(v, 0) * 100 + two(v, 2);
  const month = two(v, 5);
  const day = two(v, 8);
  const hour = two(v, 11);
  const minute = two(v, 14);
  const second = two(v, 17);
  // Date.UTC reads years 0–99 as 19xx; NaN fails every comparison.
  if (
    !(
      year >= 1000 &&
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= 31 &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59
    )
  )
    return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second);
}
