import { isAscii } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { CLOSE_ARR, CLOSE_OBJ, closingQuote, OPEN_ARR, OPEN_OBJ, QUOTE } from './json_bytes.js';

/**
 * Whether `buf` as one string stays a regular V8 heap object. V8 puts a string over ~128 KB (a
 * one-byte string's characters; a two-byte string's, twice its length, once anything is not
 * ASCII) in large-object space: each one mapped fresh and unmapped after the next scavenge. On
 * these VMs that cost ~0.75 ms for a 130 KB string against ~9 µs for a 120 KB one (page faults,
 * mostly system time): a CloudWatch Logs record of 500 events paid more for its text than for
 * parsing it.
 */
export function fitsOneString(buf: Uint8Array): boolean {
  if (buf.length <= REGULAR_CHARS / 2) return true;
  return buf.length <= REGULAR_CHARS && isAscii(buf);
}
/** Characters of a one-byte string that V8 still allocates in its young generation (128 KiB less headers). */
const REGULAR_CHARS = 128 * 1024 - 64;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number | undefined): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function skipSpace(buf: Uint8Array, i: number): number {
  while (isSpace(buf[i])) i++;
  return i;
}

/** Index just past the string whose opening quote is at `i`, or -1 if it does not close. */
function pastString(buf: Buffer, i: number): number {
  const q = closingQuote(buf, i + 1);
  return q < 0 ? -1 : q + 1;
}

/**
 * Index just past the value starting at `i` (whitespace skipped), or -1 where the text is not
 * the simple shape this reader follows. Only the structure is followed (strings, nesting);
 * what is inside a value is checked by JSON.parse later.
 */
function pastValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return pastString(buf, i);
  if (c === OPEN_OBJ || c === OPEN_ARR) {
    let depth = 0;
    for (let j = i; j < buf.length; ) {
      const b = buf[j]!;
      if (b === QUOTE) {
        j = pastString(buf, j);
        if (j < 0) return -1;
        continue;
      }
      if (b === OPEN_OBJ || b === OPEN_ARR) depth++;
      else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
        if (--depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // A number, true, false or null: up to the next separator.
  let j = i;
  for (let b = buf[j]; b !== undefined; b = buf[++j]) {
    if (b === COMMA || b === CLOSE_OBJ || b === CLOSE_ARR || isSpace(b)) break;
  }
  return j > i ? j : -1;
}

/** Bytes of the array parsed at a time: a few pieces a record, each well under fitsOneString's limit. */
const PIECE_BYTES = 48 * 1024;
/**
 * Between two objects of an array: `},{"`. Never inside a string of valid JSON, where a quote
 * after `{` would end the string; it can end one (`"…},{"`), and a cut there gives pieces that do
 * not parse, so the text is parsed whole instead.
 */
const BETWEEN_OBJECTS = Buffer.from('},{"');

/**
 * Stands in for the array while the rest of the text is parsed: random, so no text can hold it,
 * and where JSON.parse put it tells whether the array is the one the path names (a key written
 * twice, or with an escape, moves or hides it).
 */
const PLACEHOLDER_VALUE = `logferry-pieces-${randomUUID()}`;
const PLACEHOLDER = JSON.stringify(PLACEHOLDER_VALUE);

/**
 * JSON.parse of an object holding one large array of objects at `path` (a CloudWatch Logs
 * subscription message's `logEvents`, a Duo page's `response.authlogs`) without one string of
 * the whole text (see fitsOneString). A reader that follows the structure finds where the array
 * opens; it is cut between two of its objects about every PIECE_BYTES (found with indexOf, not by
 * reading every byte), and ends after the object that follows the last such gap in the text (so a
 * later list of objects makes it give up); each piece is parsed as an array of its own, and the
 * rest of the text with a placeholder in the array's place.
 *
 * Returns undefined where the text is not that shape — no such array, the placeholder not where
 * the path leads, a piece that does not parse — and the caller then parses the text whole, whose
 * error names what is wrong. Whatever this returns is what JSON.parse gives for the same text:
 * pieces cut at commas that each parse as an array are complete values, so the array reads as
 * theirs one after another, and the rest parses as it would around them.
 */
export function parseObjectInPieces(
  buf: Buffer,
  path: readonly string[],
  pieceBytes = PIECE_BYTES,
): Record<string, unknown> | undefined {
  const open = arrayAt(buf, path);
  const close = open < 0 ? -1 : endAfterLastGap(buf, open);
  const around = close < 0 ? undefined : aroundList(buf, path, open, close);
  if (!around) return undefined;
  try {
    let values: unknown[] = [];
    let from = open + 1;
    while (from < close) {
      let cut = close - from > pieceBytes ? buf.indexOf(BETWEEN_OBJECTS, from + pieceBytes) : -1;
      if (cut >= close) cut = -1;
      // The piece ends at the `}` before the comma; the next starts at the `{` after it.
      const end = cut < 0 ? close : cut + 1;
      const piece = JSON.parse(`[${buf.toString('utf8', from, end)}]`) as unknown[];
      if (values.length === 0) values = piece;
      else for (const v of piece) values.push(v);
      from = end + 1;
    }
    return around.fill(values);
  } catch {
    return undefined;
  }
}

/** A list read object by object: the whole value, the list in it, and each object's own text. */
export interface ListItems {
  value: Record<string, unknown>;
  /** The array at the path, as it is in `value`. */
  list: unknown[];
  /**
   * `texts[i]` is the text JSON.parse read `list[i]` from, as the peer wrote it (its escapes, its
   * number forms, its key order), so it can be kept instead of serializing the object again.
   * Undefined for an object written over several lines: a text kept for NDJSON must be one line.
   */
  texts: (string | undefined)[];
}

/**
 * Like parseObjectInPieces, but every object of the list is a piece of its own, so its text comes
 * with its value (a Duo page: each event's JSON as Duo wrote it is what the day files keep, not a
 * JSON.stringify of it). The first object is read to its end by its structure, and what lies
 * between it and the second (`},{"`, or `}, {"` as Python writes) is the gap looked for with
 * indexOf after each object from then on. Where a piece so cut does not parse as one object (the
 * gap is inside it: a list of objects in an event, or a string that ends like the gap), the rest
 * of the list is read by its structure (linear: no piece is parsed more than twice). Returns
 * undefined where the list is not objects separated by commas, and whatever it returns is what
 * JSON.parse gives: each text parses as one object, they are separated by single commas, and the
 * rest of the text parses around them (see parseObjectInPieces).
 */
export function parseListItems(buf: Buffer, path: readonly string[]): ListItems | undefined {
  const open = arrayAt(buf, path);
  if (open < 0) return undefined;
  const list: unknown[] = [];
  const texts: (string | undefined)[] = [];
  let gap: Buffer | undefined;
  let from = skipSpace(buf, open + 1);
  let close = buf[from] === CLOSE_ARR ? from : -1;
  while (close < 0) {
    let end = -1;
    let text = '';
    let value: Record<string, unknown> | undefined;
    const cut = gap ? buf.indexOf(gap, from) : -1;
    if (cut >= 0) {
      end = cut + 1;
      text = buf.toString('utf8', from, end);
      value = parseObject(text);
    }
    if (value === undefined) {
      // A gap not found again, or found inside an event: the rest is read by structure, so no
      // search runs on to the end of the text once per event.
      gap = undefined;
      end = pastValue(buf, from);
      if (end < 0) return undefined;
      text = buf.toString('utf8', from, end);
      value = parseObject(text);
      if (value === undefined) return undefined;
    }
    list.push(value);
    texts.push(text.includes('\n') || text.includes('\r') ? undefined : text);
    const next = skipSpace(buf, end);
    if (buf[next] === CLOSE_ARR) close = next;
    else if (buf[next] !== COMMA) return undefined;
    else {
      const start = skipSpace(buf, next + 1);
      if (list.length === 1) gap = gapAfter(buf, end - 1, start);
      from = start;
    }
  }
  const value = aroundList(buf, path, open, close)?.fill(list);
  return value && { value, list, texts };
}

/** The bytes from an object's closing brace at `brace` to the quote after the next one's `{`, on one line. */
function gapAfter(buf: Buffer, brace: number, next: number): Buffer | undefined {
  if (buf[brace] !== CLOSE_OBJ || buf[next] !== OPEN_OBJ || buf[next + 1] !== QUOTE || next - brace > 8)
    return undefined;
  const gap = buf.subarray(brace, next + 2);
  return gap.includes(LF) || gap.includes(CR) ? undefined : Buffer.from(gap);
}

/** The object JSON.parse reads from `text`, or undefined if it is not one object. */
function parseObject(text: string): Record<string, unknown> | undefined {
  if (text.charCodeAt(0) !== OPEN_OBJ) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the array opening at `open` ends, found without reading all of it: after the object that
 * follows the last gap between two objects in the text (or after all of it, when it holds no such
 * gap). -1 where the text there is not so; a later list of objects gives a wrong end, which
 * aroundList then refuses.
 */
function endAfterLastGap(buf: Buffer, open: number): number {
  const last = buf.lastIndexOf(BETWEEN_OBJECTS);
  let i = skipSpace(buf, last > open ? last + 2 : open + 1);
  if (buf[i] === CLOSE_ARR) return i;
  for (;;) {
    i = pastValue(buf, i);
    if (i < 0) return -1;
    i = skipSpace(buf, i);
    if (buf[i] === CLOSE_ARR) return i;
    if (buf[i] !== COMMA) return -1;
    i = skipSpace(buf, i + 1);
  }
}

/**
 * The rest of the text parsed around the array at [open, close] (a placeholder in its place), and
 * `fill(values)` to put the values in and return the whole; undefined where the rest is not JSON
 * or the placeholder is not where `path` leads (a key written twice, or with an escape).
 */
function aroundList(
  buf: Buffer,
  path: readonly string[],
  open: number,
  close: number,
): { fill(values: unknown[]): Record<string, unknown> } | undefined {
  let whole: unknown;
  try {
    whole = JSON.parse(`${buf.toString('utf8', 0, open)}[${PLACEHOLDER}]${buf.toString('utf8', close + 1)}`);
  } catch {
    return undefined;
  }
  const parent = at(whole, path.slice(0, -1));
  const key = path[path.length - 1]!;
  const held = parent?.[key];
  if (!parent || !Array.isArray(held) || held.length !== 1 || held[0] !== PLACEHOLDER_VALUE) return undefined;
  return {
    fill(values) {
      parent[key] = values;
      return whole as Record<string, unknown>;
    },
  };
}

/**
 * JSON.parse of UTF-8 bytes; text too large for one string whose events are the list at `path`
 * is parsed a piece of them at a time (parseObjectInPieces). Throws what JSON.parse throws.
 */
export function parseJsonBytes(buf: Buffer, path: readonly string[]): unknown {
  if (!fitsOneString(buf)) {
    const value = parseObjectInPieces(buf, path);
    if (value) return value;
  }
  return JSON.parse(buf.toString('utf8'));
}

/** The object `path` leads to in a parsed value, if every step is one. */
function at(value: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * Where the array at `path` opens (its `[`), following the objects along the path member by
 * member and stepping over the members before; -1 if the text is not laid out so.
 */
function arrayAt(buf: Buffer, path: readonly string[]): number {
  let i = skipSpace(buf, 0);
  for (let level = 0; level < path.length; level++) {
    if (buf[i] !== OPEN_OBJ) return -1;
    const want = Buffer.from(JSON.stringify(path[level]));
    i = skipSpace(buf, i + 1);
    for (;;) {
      if (buf[i] !== QUOTE) return -1;
      const keyEnd = pastString(buf, i);
      if (keyEnd < 0) return -1;
      const found = keyEnd - i === want.length && buf.compare(want, 0, want.length, i, keyEnd) === 0;
      i = skipSpace(buf, keyEnd);
      if (buf[i] !== COLON) return -1;
      i = skipSpace(buf, i + 1);
      if (found) break;
      i = pastValue(buf, i);
      if (i < 0) return -1;
      i = skipSpace(buf, i);
      if (buf[i] !== COMMA) return -1;
      i = skipSpace(buf, i + 1);
    }
  }
  return buf[i] === OPEN_ARR ? i : -1;
}
