import { toError } from '../../core/errors.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import { safeNameComponent } from '../../core/names.js';

/** One `_bulk` body and which events (by index into the write) it carries, in order. */
export interface BulkChunk {
  body: string;
  bytes: number;
  events: number[];
}

const PART = /\{([^}]+)\}/g;
/** Ids logferry makes (base64url) need no JSON escaping. */
const SAFE_ID = /^[\w-]+$/;

/**
 * Turns `logs-{dataset}-{yyyy.MM.dd}` into a function of the event. Dates are the event's UTC
 * time; the dataset goes through the shared `safeNameComponent` and is lowercased, so it stays one
 * part of a legal index name. Throws UnsafeNameError for a dataset that is `.`, `..` or empty.
 */
export function indexNamer(pattern: string): (e: LogEvent) => string {
  const parts: ((e: LogEvent, d: Date) => string)[] = [];
  let last = 0;
  for (const m of pattern.matchAll(PART)) {
    const literal = pattern.slice(last, m.index);
    parts.push(() => literal);
    const token = m[1]!;
    parts.push(token === 'dataset' ? (e) => cleanDataset(e.dataset) : (_e, d) => formatDate(token, d));
    last = m.index! + m[0].length;
  }
  const tail = pattern.slice(last);
  parts.push(() => tail);
  const dated = /\{(?!dataset\})/.test(pattern);
  // Most writes hit one or two names; a tiny cache saves the formatting per event.
  const cache = new Map<string, string>();
  return (e) => {
    const hourKey = dated ? `${e.dataset}\u0000${Math.floor(e.timestamp / 3_600_000)}` : e.dataset;
    const hit = cache.get(hourKey);
    if (hit !== undefined) return hit;
    const d = new Date(Number.isFinite(e.timestamp) ? e.timestamp : 0);
    const name = parts.map((p) => p(e, d)).join('');
    if (cache.size > 1000) cache.clear();
    cache.set(hourKey, name);
    return name;
  };
}

function cleanDataset(dataset: string): string {
  return safeNameComponent(dataset, 'dataset').toLowerCase();
}

function formatDate(fmt: string, d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return fmt.replace(/yyyy|MM|dd|HH/g, (t) =>
    t === 'yyyy'
      ? String(d.getUTCFullYear())
      : t === 'MM'
        ? pad(d.getUTCMonth() + 1)
        : t === 'dd'
          ? pad(d.getUTCDate())
          : pad(d.getUTCHours()),
  );
}

/** `logs-{dataset}-{yyyy.MM.dd}` → `logs-*-*`, for the index template. */
export function patternToGlob(pattern: string): string {
  return pattern.replace(PART, '*').replace(/\*+(-\*+)*/g, (m) => (m.includes('-') ? m : '*'));
}

export interface BuildOptions {
  op: 'create' | 'index';
  documentId: boolean;
  maxBytes: number;
  maxDocs: number;
  indexOf: (e: LogEvent) => string;
}

/**
 * Cuts the events into bulk bodies of at most `maxBytes` and `maxDocs`, lazily, so the caller
 * can send one body while the next is being built. An event that alone is over `maxBytes` comes
 * out as `oversize`, and one that can have no index name as `unnamed`, instead of being sent.
 */
export function* chunksOf(
  events: readonly LogEvent[],
  indexes: readonly number[],
  o: BuildOptions,
): Generator<
  | { chunk: BulkChunk }
  | { oversize: { index: number; bytes: number } }
  | { unnamed: { index: number; error: Error } }
> {
  let parts: string[] = [];
  let members: number[] = [];
  let bytes = 0;
  // The action line's start depends only on the index name; writes touch few names.
  const prefixes = new Map<string, string>();
  for (const i of indexes) {
    const e = events[i]!;
    let index: string;
    try {
      index = o.indexOf(e);
    } catch (err) {
      yield { unnamed: { index: i, error: toError(err) } };
      continue;
    }
    let prefix = prefixes.get(index);
    if (prefix === undefined) {
      prefix = `{"${o.op}":{"_index":${JSON.stringify(index)}`;
      prefixes.set(index, prefix);
    }
    const meta = o.documentId
      ? `${prefix},"_id":${SAFE_ID.test(e.id) ? `"${e.id}"` : JSON.stringify(e.id)}}}\n`
      : `${prefix}}}\n`;
    const line = `${meta}${serializedDoc(e)}\n`;
    const size = Buffer.byteLength(line);
    if (size > o.maxBytes) {
      yield { oversize: { index: i, bytes: size } };
      continue;
    }
    if (members.length > 0 && (bytes + size > o.maxBytes || members.length >= o.maxDocs)) {
      yield { chunk: { body: parts.join(''), bytes, events: members } };
      parts = [];
      members = [];
      bytes = 0;
    }
    parts.push(line);
    members.push(i);
    bytes += size;
  }
  if (members.length > 0) yield { chunk: { body: parts.join(''), bytes, events: members } };
}

export function buildChunks(
  events: readonly LogEvent[],
  indexes: readonly number[],
  o: BuildOptions,
): {
  chunks: BulkChunk[];
  oversize: { index: number; bytes: number }[];
  unnamed: { index: number; error: Error }[];
} {
  const chunks: BulkChunk[] = [];
  const oversize: { index: number; bytes: number }[] = [];
  const unnamed: { index: number; error: Error }[] = [];
  for (const c of chunksOf(events, indexes, o)) {
    if ('chunk' in c) chunks.push(c.chunk);
    else if ('oversize' in c) oversize.push(c.oversize);
    else unnamed.push(c.unnamed);
  }
  return { chunks, oversize, unnamed };
}

/** Halves of a chunk, for a cluster that answered 413. */
export function splitChunk(c: BulkChunk): [BulkChunk, BulkChunk] {
  const lines = c.body.split('\n');
  const half = Math.ceil(c.events.length / 2);
  const a = `${lines.slice(0, half * 2).join('\n')}\n`;
  const b = `${lines.slice(half * 2, c.events.length * 2).join('\n')}\n`;
  return [
    { body: a, bytes: Buffer.byteLength(a), events: c.events.slice(0, half) },
    { body: b, bytes: Buffer.byteLength(b), events: c.events.slice(half) },
  ];
}
