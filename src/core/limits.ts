import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { LimitError, ParseError } from './errors.js';

export const LimitsSchema = z
  .object({
    /** Largest single input record (a Kinesis record is at most 1 MiB; leave room for wrappers). */
    max_record_bytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    /** Largest inflated size of one compressed record: the decompression-bomb cap. */
    max_inflated_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024 * 1024),
    /** Largest single line in a line-oriented file or stream. */
    max_line_bytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /**
     * How much larger than its compressed bytes a streamed object may inflate, once past
     * `max_inflated_bytes`: logs compress 10–50×, a bomb hundreds or thousands of times.
     */
    max_inflate_ratio: z.number().positive().default(200),
    /** Longest top-level key of a JSON document (CloudTrail's is `Records`). */
    max_key_bytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
  })
  .strict();

export type Limits = z.infer<typeof LimitsSchema>;
export const defaultLimits: Limits = LimitsSchema.parse({});

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes base64, refusing anything that is not: Buffer.from silently skips bad characters, so
 * a decoded length short of what the text's length implies means the text was not base64.
 * (Cheaper than a regex over every byte of every record.)
 */
export function decodeBase64(text: string, what = 'data'): Buffer {
  let t = text;
  if (/\s/.test(t[0] ?? '') || /\s/.test(t[t.length - 1] ?? '') || t.includes('\n'))
    t = t.replace(/\s+/g, '');
  if (t.length === 0) throw new ParseError(`${what} is empty`);
  const buf = Buffer.from(t, 'base64');
  const pad = t.endsWith('==') ? 2 : t.endsWith('=') ? 1 : 0;
  if (t.length % 4 !== 0 || buf.length !== (t.length / 4) * 3 - pad || (t.length < 64 && !BASE64.test(t))) {
    throw new ParseError(`${what} is not base64`);
  }
  return buf;
}

/**
 * Gunzips with a ceiling on the output: zlib stops at `maxBytes` and reports RangeError, which
 * becomes a LimitError, so a 10 KB bomb can never take 10 GB of memory.
 */
export function gunzipCapped(buf: Uint8Array, maxBytes: number, what = 'data'): Buffer {
  try {
    return gunzipSync(buf, { maxOutputLength: maxBytes, chunkSize: outputChunkBytes(buf, maxBytes) });
  } catch (e) {
    if (e instanceof RangeError || (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new LimitError(`${what} inflates past the ${maxBytes}-byte limit (decompression bomb?)`, {
        cause: e,
      });
    }
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'Z_BUF_ERROR' ? 'gzip stream is truncated' : `not valid gzip (${(e as Error).message})`;
    throw new ParseError(`${what}: ${reason}`, { cause: e });
  }
}

/**
 * How much output to inflate into at a time: the size the gzip trailer announces (ISIZE, the last
 * member's size mod 2^32), so a record inflates into one buffer instead of 16 KiB pieces joined
 * by a copy (~0.2 µs an event less for CloudWatch Logs records, half of it page faults). It is a
 * hint written by whoever made the gzip: a wrong one only means more pieces, and it is held
 * between 16 KiB and 4 MiB so a lying trailer cannot make a tiny record allocate much.
 */
function outputChunkBytes(buf: Uint8Array, maxBytes: number): number {
  if (buf.length < 18) return MIN_CHUNK;
  const at = buf.length - 4;
  const isize = (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
  // One byte over, so a buffer filled exactly does not need a second one to see the end.
  return Math.max(MIN_CHUNK, Math.min(isize + 1, MAX_CHUNK, maxBytes + 1));
}
const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = 4 * 1024 * 1024;

/** Inflates when gzip, passes plain bytes through, both within the same cap. */
export function maybeGunzip(buf: Uint8Array, limits: Limits, what = 'data'): Buffer {
  if (isGzip(buf)) return gunzipCapped(buf, limits.max_inflated_bytes, what);
  if (buf.length > limits.max_inflated_bytes) {
    throw new LimitError(`${what} is ${buf.length} bytes, over the ${limits.max_inflated_bytes}-byte limit`);
  }
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function checkRecordSize(size: number, limits: Limits, what = 'record'): void {
  if (size > limits.max_record_bytes) {
    throw new LimitError(`${what} is ${size} bytes, over the ${limits.max_record_bytes}-byte record limit`);
  }
}
