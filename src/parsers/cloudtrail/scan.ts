import { LimitError, ParseError } from '../../core/errors.js';
import {
  CLOSE_ARR,
  CLOSE_OBJ,
  closingQuote,
  OPEN_ARR,
  OPEN_OBJ,
  QUOTE,
  STRING_GOES_ON_ESCAPED,
} from '../../formats/json_bytes.js';

const COMMA = 0x2c;
const COLON = 0x3a;

export interface ScannedRecord {
  /** Position in the Records array. */
  index: number;
  /** The record's JSON text, or undefined when it was over the size limit (then `size` says how big). */
  bytes?: Buffer;
  size: number;
}

/**
 * Finds the elements of the top-level `Records` array in a CloudTrail file as it streams past,
 * without building the document: it tracks strings, escapes and nesting byte by byte and cuts
 * out each record's bytes for JSON.parse. Memory is one chunk plus one record. (A generic
 * streaming JSON tokenizer was 5–10× slower than JSON.parse; this leaves parsing to V8.)
 */
export class RecordsScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  /** Strings at depth 1 are the top-level keys (and string values); kept to know which array is Records. */
  private keyParts: Buffer[] | undefined;
  private keySize = 0;
  private expectKey = false;
  private lastKey = '';
  private inRecords = false;
  private recordsDone = false;
  private recParts: Buffer[] = [];
  private recSize = 0;
  private inRecord = false;
  private index = 0;
  private consumed = 0;
  /** Where in the current chunk the open record / top-level key began (-1: none open). */
  private recStart = -1;
  private keyStart = -1;
  readonly topKeys = new Set<string>();

  constructor(
    private readonly maxRecordBytes: number,
    private readonly maxKeyBytes = 64 * 1024,
  ) {}

  get sawRecords(): boolean {
    return this.inRecords || this.recordsDone;
  }

  get recordCount(): number {
    return this.index;
  }

  /** Bytes of decompressed JSON read so far. */
  get offset(): number {
    return this.consumed;
  }

  /** Scans one chunk; each record it completes goes to `out`. */
  push(buf: Buffer, out: ScannedRecord[]): void {
    const n = buf.length;
    // A record or key still open from the last chunk goes on from this chunk's first byte.
    this.recStart = this.inRecord ? 0 : -1;
    this.keyStart = this.keyParts ? 0 : -1;
    let i = 0;
    while (i < n) {
      if (this.inString) {
        i = this.stringEnd(buf, i);
        continue;
      }
      const c = buf[i]!;
      if (c === QUOTE) this.openString(i);
      else if (c === OPEN_OBJ || c === OPEN_ARR) this.open(c, i);
      else if (c === CLOSE_OBJ || c === CLOSE_ARR) this.close(c, buf, i, out);
      else if (this.depth === 1) {
        if (c === COLON) this.expectKey = false;
        else if (c === COMMA) this.expectKey = true;
      } else if (this.depth === 0 && c > 0x20) {
        throw this.started
          ? this.error('unexpected data after the end of the document', i)
          : this.notCloudTrail(c);
      }
      i++;
    }
    this.carryOver(buf);
    this.consumed += n;
  }

  /** Inside a string at `i`: where scanning goes on (past its closing quote, or the chunk's end). */
  private stringEnd(buf: Buffer, i: number): number {
    if (this.escaped) {
      this.escaped = false;
      return i + 1;
    }
    const q = closingQuote(buf, i);
    if (q < 0) {
      this.escaped = q === STRING_GOES_ON_ESCAPED;
      return buf.length;
    }
    this.inString = false;
    if (this.keyStart !== -1) this.endKey(buf.subarray(this.keyStart, q));
    return q + 1;
  }

  private openString(i: number): void {
    this.inString = true;
    if (this.depth === 1 && this.expectKey) {
      this.keyParts = [];
      this.keySize = 0;
      this.keyStart = i + 1;
    }
  }

  /** A top-level key is complete: remember it (the next array is Records when it says so). */
  private endKey(last: Buffer): void {
    this.keepKeyPart(last);
    const text = Buffer.concat(this.keyParts!).toString('utf8');
    this.keyParts = undefined;
    this.keySize = 0;
    this.keyStart = -1;
    this.lastKey = text;
    this.topKeys.add(text);
  }

  private open(c: number, i: number): void {
    if (this.depth === 0) {
      if (this.started || c !== OPEN_OBJ) throw this.notCloudTrail(c);
      this.started = true;
      this.expectKey = true;
    } else if (this.depth === 1 && c === OPEN_ARR && this.lastKey === 'Records' && !this.expectKey) {
      this.inRecords = true;
    } else if (this.depth === 2 && this.inRecords) {
      if (c !== OPEN_OBJ) throw this.error(`Records[${this.index}] is not a JSON object`, i);
      this.inRecord = true;
      this.recStart = i;
      this.recParts = [];
      this.recSize = 0;
    }
    this.depth++;
  }

  private close(c: number, buf: Buffer, i: number, out: ScannedRecord[]): void {
    this.depth--;
    if (this.depth < 0) throw this.error(`unbalanced '${String.fromCharCode(c)}'`, i);
    if (this.depth === 2 && this.inRecord) out.push(this.endRecord(buf, i));
    else if (this.depth === 1 && this.inRecords) {
      this.inRecords = false;
      this.recordsDone = true;
    }
  }

  /** The record closing at `i`: its bytes (joined with earlier chunks' parts), unless over the limit. */
  private endRecord(buf: Buffer, i: number): ScannedRecord {
    const size = this.recSize + (i + 1 - this.recStart);
    let bytes: Buffer | undefined;
    if (size <= this.maxRecordBytes) {
      const tail = buf.subarray(this.recStart, i + 1);
      bytes = this.recParts.length ? Buffer.concat([...this.recParts, tail]) : tail;
    }
    this.inRecord = false;
    this.recParts = [];
    this.recStart = -1;
    return { index: this.index++, bytes, size };
  }

  /** At a chunk's end, keeps the open record's and key's bytes for the next chunk. */
  private carryOver(buf: Buffer): void {
    if (this.inRecord) {
      const part = buf.subarray(this.recStart === -1 ? 0 : this.recStart);
      this.recSize += part.length;
      // Past the limit the bytes are dropped, only counted: the record is reported, not kept.
      if (this.recSize <= this.maxRecordBytes) this.recParts.push(part);
      else this.recParts = [];
    }
    if (this.keyStart !== -1) this.keepKeyPart(buf.subarray(this.keyStart));
  }

  /** A key still open at the end of a chunk is kept only up to the cap: past it the file is refused. */
  private keepKeyPart(part: Buffer): void {
    this.keySize += part.length;
    if (this.keySize > this.maxKeyBytes)
      throw new LimitError(
        `a top-level key is over the ${this.maxKeyBytes}-byte limit (near uncompressed byte ${this.consumed}): not a CloudTrail log file`,
        { position: `uncompressed byte ${this.consumed}` },
      );
    this.keyParts!.push(part);
  }

  /** Called at the end of the input: a document cut short is an error naming where it stopped. */
  end(): void {
    if (!this.started) throw new ParseError('is empty (no JSON document)');
    if (this.depth !== 0 || this.inString) {
      const where = this.inRecord
        ? `inside Records[${this.index}]`
        : this.inRecords
          ? `after Records[${this.index - 1}]`
          : 'before the Records array ended';
      throw new ParseError(`JSON is truncated: the file ends ${where} at byte ${this.consumed}`, {
        position: `uncompressed byte ${this.consumed}`,
      });
    }
  }

  private error(message: string, at: number): ParseError {
    const byte = this.consumed + at;
    return new ParseError(`${message} at uncompressed byte ${byte}`, {
      position: `uncompressed byte ${byte}`,
    });
  }

  private notCloudTrail(c: number): ParseError {
    return new ParseError(
      `is not a CloudTrail log file: it starts with '${String.fromCharCode(c)}', not a {"Records":[…]} object`,
    );
  }
}
