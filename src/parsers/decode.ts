import { pipeline, Readable, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { LimitError, oneLine, ParseError } from '../core/errors.js';
import type { Limits } from '../core/limits.js';

export type InflateLimits = Pick<Limits, 'max_inflated_bytes' | 'max_inflate_ratio'>;

/**
 * The bytes of a stream, gunzipped when it starts with the gzip magic. Damaged gzip ends the
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
    yield* raw();
    return;
  }
  // A deep read-ahead lets zlib (on the thread pool) inflate the next chunks while this thread
  // parses: on two cores the inflate time then mostly disappears.
  const options: ZlibOptions & TransformOptions = { chunkSize: 128 * 1024, highWaterMark: 2 * 1024 * 1024 };
  const gunzip = createGunzip(options);
  pipeline(Readable.from(raw()), gunzip, () => {});
  let inflated = 0;
  try {
    for await (const chunk of gunzip) {
      inflated += (chunk as Buffer).length;
      if (inflated > limits.max_inflated_bytes && inflated > limits.max_inflate_ratio * compressedRead) {
        gunzip.destroy();
        // Release the source too (an S3 GetObject holds a connection until its body ends).
        input.destroy();
        throw new LimitError(
          `gzip inflates over ${limits.max_inflate_ratio}× its size (${inflated} bytes from ${compressedRead} compressed, past the ${limits.max_inflated_bytes}-byte allowance): decompression bomb?`,
          { position: `compressed byte ${compressedRead}` },
        );
      }
      yield chunk as Buffer;
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new ParseError(`${what}: gzip is damaged (${oneLine((e as Error).message, 120)})`, {
        cause: e,
        position: `compressed byte ${compressedRead}`,
      });
    }
    throw e;
  }
}
