import { isUtf8 } from 'node:buffer';
import { pipeline, Readable, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { LimitError, oneLine, ParseError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';

export type InflateLimits = Pick<Limits, 'max_inflated_bytes' | 'max_inflate_ratio'>;

/** Passes chunks on, stopping at the first sign of binary content (the sample is the first chunk). */
async function* checkedText(chunks: AsyncIterable<Buffer>, what: string): AsyncIterable<Buffer> {
  let offset = 0;
  for await (const chunk of chunks) {
    assertText(chunk, what, offset, offset === 0);
    offset += chunk.length;
    yield chunk;
  }
}

/**
 * The bytes of a stream, gunzipped when it starts with the gzip magic, refused as binary when they
 * are not text (see binaryReason). Damaged gzip ends the
 * iteration with a ParseError whose position is the count of compressed bytes read (the same
 * convention as readLines), so an operator can see how far the object was good. Past
 * `max_inflated_bytes` of output, inflating more than `max_inflate_ratio` times the compressed
 * bytes read is a decompression bomb: a LimitError stops it.
 */
export async function* decodedChunks(
  input: Readable,
  what: string,
  limits: InflateLimits,
): AsyncIterable<Buffer> {
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
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      compressedRead += b.length;
      yield b;
    }
  }
  if (!gzip) {
    yield* checkedText(raw(), what);
    return;
  }
  // A deep read-ahead lets zlib (on the thread pool) inflate the next chunks while this thread
  // parses: on two cores the inflate time then mostly disappears.
  const options: ZlibOptions & TransformOptions = { chunkSize: 128 * 1024, highWaterMark: 2 * 1024 * 1024 };
  const gunzip = createGunzip(options);
  pipeline(Readable.from(raw()), gunzip, () => {});
  let inflated = 0;
  try {
    let offset = 0;
    for await (const chunk of gunzip) {
      const b = chunk as Buffer;
      inflated += b.length;
      if (inflated > limits.max_inflated_bytes && inflated > limits.max_inflate_ratio * compressedRead) {
        gunzip.destroy();
        // Release the source too (an S3 GetObject holds a connection until its body ends).
        input.destroy();
        throw new LimitError(
          `gzip inflates over ${limits.max_inflate_ratio}× its size (${inflated} bytes from ${compressedRead} compressed, past the ${limits.max_inflated_bytes}-byte allowance): decompression bomb?`,
          { position: `compressed byte ${compressedRead}` },
        );
      }
      assertText(b, what, offset, offset === 0);
      offset += b.length;
      yield b;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      const reason = oneLine((e as Error).message, 120);
      throw new ParseError(
        `${what}: gzip is damaged (${reason}), read up to compressed byte ${compressedRead}`,
        {
          cause: e,
          position: `compressed byte ${compressedRead}`,
        },
      );
    }
    throw e;
  }
}

const SAMPLE_BYTES = 64 * 1024;

/**
 * Why some bytes are binary rather than text, or undefined when they read as text: a NUL byte
 * (no text log holds one; UTF-16 and compressed or image files do), or a sample that is not
 * UTF-8 and where more than 30% of the characters are invalid or control characters. A few
 * Latin-1 accents stay text.
 */
export function binaryReason(buf: Buffer, offset = 0, sample = true): string | undefined {
  const nul = buf.indexOf(0);
  if (nul !== -1) return `a NUL byte at uncompressed byte ${offset + nul}`;
  if (!sample) return undefined;
  const head = buf.subarray(0, SAMPLE_BYTES);
  // Valid UTF-8 (the common case, checked natively) is text; only the rest is counted.
  if (isUtf8(head)) return undefined;
  const text = head.toString('utf8');
  let odd = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (
      c === 0xfffd ||
      c === 0x7f ||
      (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x1b)
    )
      odd++;
  }
  if (text.length >= 16 && odd * 10 > text.length * 3) {
    return `${Math.round((odd * 100) / text.length)}% of its first ${Math.min(buf.length, SAMPLE_BYTES)} bytes are not UTF-8 text`;
  }
  return undefined;
}

/** Throws a ParseError when `buf` is binary (see binaryReason). */
export function assertText(buf: Buffer, what: string, offset = 0, sample = true): void {
  const why = binaryReason(buf, offset, sample);
  if (why) {
    throw new ParseError(`${what} is binary, not text: ${why}`, {
      position: why.startsWith('a NUL') ? `uncompressed byte ${offset + buf.indexOf(0)}` : undefined,
    });
  }
}
