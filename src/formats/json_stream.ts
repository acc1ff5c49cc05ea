import { ParseError } from '../core/errors.js';
import {
  CLOSE_ARR,
  CLOSE_OBJ,
  closingQuote,
  OPEN_ARR,
  OPEN_OBJ,
  QUOTE,
  STRING_GOES_ON_ESCAPED,
} from './json_bytes.js';

export interface ScannedObject {
  /** 0-based position among the objects of the input. */
  index: number;
  /** Offset of the object's first byte in the (uncompressed) input. */
  offset: number;
  /** The object's JSON text, or undefined when it was over the size limit (then `size` says how big). */
  bytes?: Buffer;
  size: number;
}

/**
 * Splits a stream of JSON objects written back to back (`{…}{…}`, with or without whitespace or
 * newlines between them, as Firehose archives CloudWatch Logs) into each object's bytes, without
 * parsing: it tracks strings, escapes and nesting byte by byte and leaves parsing to JSON.parse.
 * Memory is one chunk plus one object; an object over `maxObjectBytes` is counted, not kept.
 */
export class ConcatenatedJsonScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private size = 0;
  private start = 0;
  private index = 0;
  private consumed = 0;

  constructor(
    private readonly maxObjectBytes: number,
    private readonly what = 'input',
  ) {}

  get objectCount(): number {
    return this.index;
  }

  /** Bytes of uncompressed input read so far. */
  get offset(): number {
    return this.consumed;
  }

  push(buf: Buffer, out: ScannedObject[]): void {
    const n = buf.length;
    let objStart = this.depth > 0 ? 0 : -1;
    let i = 0;
    while (i < n) {
      if (this.inString) {
        i = this.skipString(buf, i);
        continue;
      }
      const c = buf[i]!;
      if (c === QUOTE) {
        if (this.depth === 0) throw this.error('a string outside any object', i);
        this.inString = true;
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (this.depth === 0) {
          if (c !== OPEN_OBJ) throw this.error('a JSON array where an object was expected', i);
          objStart = i;
          this.start = this.consumed + i;
          this.parts = [];
          this.size = 0;
        }
        this.depth++;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        if (this.depth === 0) throw this.error(`unbalanced '${String.fromCharCode(c)}'`, i);
        this.depth--;
        if (this.depth === 0) {
          out.push(this.finish(buf.subarray(objStart, i + 1)));
          objStart = -1;
        }
      } else if (this.depth === 0 && c > 0x20) {
        throw this.error(`'${String.fromCharCode(c)}' outside any object`, i);
      }
      i++;
    }
    if (this.depth > 0) this.keep(buf.subarray(objStart === -1 ? 0 : objStart));
    this.consumed += n;
  }

  /** Called at the end of the input: an object cut short is an error naming where it began. */
  end(): void {
    if (this.depth !== 0 || this.inString) {
      throw new ParseError(
        `${this.what} is truncated: object ${this.index} starting at uncompressed byte ${this.start} never ends`,
        { position: `uncompressed byte ${this.consumed}` },
      );
    }
  }

  /** Jumps past the string's closing quote (or to the end of the chunk); returns where to go on. */
  private skipString(buf: Buffer, from: number): number {
    let i = from;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    const q = closingQuote(buf, i);
    if (q < 0) {
      this.escaped = q === STRING_GOES_ON_ESCAPED;
      return buf.length;
    }
    this.inString = false;
    return q + 1;
  }

  private keep(part: Buffer): void {
    this.size += part.length;
    // Past the limit the bytes are dropped, only counted: the object is reported, not kept.
    if (this.size <= this.maxObjectBytes) this.parts.push(part);
    else this.parts = [];
  }

  private finish(tail: Buffer): ScannedObject {
    const size = this.size + tail.length;
    let bytes: Buffer | undefined;
    if (size <= this.maxObjectBytes) bytes = this.parts.length ? Buffer.concat([...this.parts, tail]) : tail;
    this.parts = [];
    this.size = 0;
    return { index: this.index++, offset: this.start, bytes, size };
  }

  private error(message: string, at: number): ParseError {
    const byte = this.consumed + at;
    return new ParseError(
      `${this.what} is not JSON objects back to back: ${message} at uncompressed byte ${byte}`,
      {
        position: `uncompressed byte ${byte}`,
      },
    );
  }
}
