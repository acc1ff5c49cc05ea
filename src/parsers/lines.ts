import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { oneLine, ParseError } from '../core/errors.js';

export interface Line {
  /** 1-based line number. */
  no: number;
  text: string;
  /** Set when the line was longer than the limit; `text` is then empty. */
  oversize?: number;
}

/**
 * Streams a body as lines, gunzipping when it starts with the gzip magic. Memory stays at one
 * chunk plus one line, whatever the file's size. A line over `maxLineBytes` is reported (not
 * kept) so the caller can set it aside and go on. Damaged gzip stops the stream with a
 * ParseError that says how many compressed bytes were read before the damage.
 */
export async function* readLines(input: Readable, maxLineBytes: number, what = 'input'): AsyncIterable<Line> {
  let compressedRead = 0;
  const it = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) return;
  const first = Buffer.from(head.value);
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  async function* raw(): AsyncIterable<Buffer> {
    compressedRead += first.length;
    yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const b = Buffer.from(r.value);
      compressedRead += b.length;
      yield b;
    }
  }
  let source: AsyncIterable<Buffer> = raw();
  if (gzip) {
    const gunzip = createGunzip();
    // pipeline() carries a read error of the input into the gunzip stream we iterate.
    pipeline(Readable.from(source), gunzip, () => {});
    source = gunzip;
  }
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let skipping = 0;
  let no = 0;
  try {
    for await (const chunk of source) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl === -1) {
          const rest = chunk.length - start;
          if (skipping || pendingLen + rest > maxLineBytes) {
            skipping = (skipping || pendingLen) + rest;
            pending = [];
            pendingLen = 0;
          } else if (rest > 0) {
            pending.push(chunk.subarray(start));
            pendingLen += rest;
          }
          break;
        }
        no++;
        const piece = chunk.subarray(start, nl);
        if (skipping || pendingLen + piece.length > maxLineBytes) {
          yield { no, text: '', oversize: (skipping || pendingLen) + piece.length };
        } else {
          const buf = pendingLen ? Buffer.concat([...pending, piece]) : piece;
          yield { no, text: stripCr(buf.toString('utf8')) };
        }
        pending = [];
        pendingLen = 0;
        skipping = 0;
        start = nl + 1;
      }
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (gzip && typeof code === 'string' && code.startsWith('Z_')) {
      throw new ParseError(
        `${what}: gzip is damaged after line ${no} (${oneLine((e as Error).message, 120)})`,
        {
          cause: e,
          position: `compressed byte ${compressedRead}`,
        },
      );
    }
    throw e;
  }
  if (skipping) yield { no: no + 1, text: '', oversize: skipping };
  else if (pendingLen) yield { no: no + 1, text: stripCr(Buffer.concat(pending).toString('utf8')) };
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
