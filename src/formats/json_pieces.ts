import { isAscii } from 'node:buffer';
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
const BACKSLASH = 0x5c;

function skipSpace(buf: Uint8Array, i: number): number {
  for (let c = buf[i]; c === SPACE || c === LF || c === CR || c === TAB; c = buf[++i]);
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
    if (b === COMMA || b === CLOSE_OBJ || b === CLOSE_ARR || b === SPACE || b === LF || b === CR || b === TAB)
      break;
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
 * JSON.parse of an object whose last member is one large array (`key`: a CloudWatch Logs
 * subscription message's `logEvents`) without one string of the whole text (see fitsOneString):
 * the members before the array are found by a reader that follows the structure, the array is cut
 * between two of its objects about every PIECE_BYTES (found with indexOf, not by reading every
 * byte) and each piece parsed as an array of its own; the rest of the object is parsed as one small
 * text with an empty array in the array's place.
 *
 * Returns undefined where the text is not that shape — not an object, the array not its last
 * member, a member twice, a key with an escape, a piece that does not parse — and the caller then
 * parses the text whole, whose error names what is wrong. Whatever this returns is what JSON.parse
 * gives for the same text: pieces cut at commas that each parse as an array are complete values,
 * so the whole array reads as theirs one after another.
 */
export function parseObjectInPieces(
  buf: Buffer,
  key: string,
  pieceBytes = PIECE_BYTES,
): Record<string, unknown> | undefined {
  // Assigned below as a plain property: a key JSON.parse would make special is not for this.
  if (key === '__proto__') throw new Error('parseObjectInPieces: key __proto__ is not supported');
  const quotedKey = Buffer.from(JSON.stringify(key));
  let i = skipSpace(buf, 0);
  if (buf[i] !== OPEN_OBJ) return undefined;
  i = skipSpace(buf, i + 1);
  const seen = new Set<string>();
  let open = -1;
  while (open < 0) {
    if (buf[i] !== QUOTE) return undefined;
    const keyEnd = pastString(buf, i);
    if (keyEnd < 0 || hasBackslash(buf, i + 1, keyEnd - 1)) return undefined;
    const isTarget =
      keyEnd - i === quotedKey.length && buf.compare(quotedKey, 0, quotedKey.length, i, keyEnd) === 0;
    const name = buf.toString('latin1', i + 1, keyEnd - 1);
    if (seen.has(name)) return undefined;
    seen.add(name);
    i = skipSpace(buf, keyEnd);
    if (buf[i] !== COLON) return undefined;
    i = skipSpace(buf, i + 1);
    if (isTarget) {
      if (buf[i] !== OPEN_ARR) return undefined;
      open = i;
      break;
    }
    i = pastValue(buf, i);
    if (i < 0) return undefined;
    i = skipSpace(buf, i);
    if (buf[i] !== COMMA) return undefined;
    i = skipSpace(buf, i + 1);
  }
  // The array is the last member: the text ends `]`, `}` and white space.
  let close = buf.length - 1;
  while (close > open && isSpace(buf[close]!)) close--;
  if (buf[close] !== CLOSE_OBJ) return undefined;
  close--;
  while (close > open && isSpace(buf[close]!)) close--;
  if (close <= open || buf[close] !== CLOSE_ARR) return undefined;
  try {
    const obj = JSON.parse(buf.toString('utf8', 0, open + 1) + buf.toString('utf8', close)) as Record<
      string,
      unknown
    >;
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
    obj[key] = values;
    return obj;
  } catch {
    return undefined;
  }
}

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** Keys are short: a loop, not an indexOf that would search on past the key. */
function hasBackslash(buf: Uint8Array, from: number, to: number): boolean {
  for (let j = from; j < to; j++) if (buf[j] === BACKSLASH) return true;
  return false;
}
