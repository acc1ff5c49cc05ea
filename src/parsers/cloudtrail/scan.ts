import { LimitError, ParseError } from '../../core/errors.js';
import {
  CLOSE_ARR,
  CLOSE_OBJ,
  closingQuote,
  OPEN_ARR,
  OPEN_OBJ,
  QUOTE,
  STRING_GOES_ON_ESCAPED,
} from '../json_bytes.js';

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

  push(buf: Buffer, out: ScannedRecord[]): void {
    const n = buf.length;
    let i = 0;
    let recStart = this.inRecord ? 0 : -1;
    let keyStart = this.keyParts ? 0 : -1;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const q = closingQuote(buf, i);
        if (q < 0) {
          this.escaped = q === STRING_GOES_ON_ESCAPED;
          i = n;
          break;
        }
        this.inString = false;
        if (keyStart !== -1) {
          this.keepKeyPart(buf.subarray(keyStart, q));
          const text = Buffer.concat(this.keyParts!).toString('utf8');
          this.keyParts = undefined;
          this.keySize = 0;
          keyStart = -1;
          this.lastKey = text;
          this.topKeys.add(text);
        }
        i = q + 1;
        continue;
      }
      const c = buf[i]!;
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.expectKey) {
          this.keyParts = [];
          this.keySize = 0;
          keyStart = i + 1;
        }
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (this.depth === 0) {
          if (this.started || c !== OPEN_OBJ) throw this.notCloudTrail(c);
          this.started = true;
          this.expectKey = true;
        } else if (this.depth === 1 && c === OPEN_ARR && this.lastKey === 'Records' && !this.expectKey) {
          this.inRecords = true;
        } else if (this.depth === 2 && this.inRecords) {
          if (c !== OPEN_OBJ) throw this.error(`Records[${this.index}] is not a JSON object`, i);
          this.inRecord = true;
          recStart = i;
          this.recParts = [];
          this.recSize = 0;
        }
        this.depth++;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        this.depth--;
        if (this.depth < 0) throw this.error(`unbalanced '${String.fromCharCode(c)}'`, i);
        if (this.depth === 2 && this.inRecord) {
          const size = this.recSize + (i + 1 - recStart);
          let bytes: Buffer | undefined;
          if (size <= this.maxRecordBytes) {
            const tail = buf.subarray(recStart, i + 1);
            bytes = this.recParts.length ? Buffer.concat([...this.recParts, tail]) : tail;
          }
          out.push({ index: this.index++, bytes, size });
          this.inRecord = false;
          this.recParts = [];
          recStart = -1;
        } else if (this.depth === 1 && this.inRecords) {
          this.inRecords = false;
          this.recordsDone = true;
        }
      } else if (this.depth === 1) {
        if (c === COLON) this.expectKey = false;
        else if (c === COMMA) this.expectKey = true;
      } else if (this.depth === 0 && c > 0x20) {
        throw this.started
          ? this.error('unexpected data after the end of the document', i)
          : this.notCloudTrail(c);
      }
      i++;
    }
    if (this.inRecord) {
      const part = buf.subarray(recStart === -1 ? 0 : recStart);
      this.recSize += part.length;
      // Past the limit the bytes are dropped, only counted: the record is reported, not kept.
      if (this.recSize <= this.maxRecordBytes) this.recParts.push(part);
      else this.recParts = [];
    }
    if (keyStart !== -1) this.keepKeyPart(buf.subarray(keyStart));
    this.consumed += n;
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
