import type { Readable } from 'node:stream';
import type { RawItem } from '../core/batch.js';
import type { Line, ParseContext } from '../core/component.js';
import { LimitError, ParseError } from '../core/errors.js';
import { defaultLimits } from '../core/limits.js';
import { openBody } from './bytes.js';
import { decodedChunks, type InflateLimits } from './decode.js';

export type { Line };

/**
 * Streams a body as lines, gunzipping when it starts with the gzip magic. Memory stays at one
 * chunk plus one line, whatever the file's size. A line over `maxLineBytes` is reported (not
 * kept) so the caller can set it aside and go on. Damaged gzip stops the stream with a
 * ParseError that says how many compressed bytes were read before the damage.
 */
export async function* readLines(
  input: Readable,
  maxLineBytes: number,
  what = 'input',
  inflate: InflateLimits = defaultLimits,
): AsyncIterable<Line> {
  for await (const batch of readLineBatches(input, maxLineBytes, what, inflate)) yield* batch;
}

/**
 * readLines, handing over the lines of each decoded chunk together: a hot line parser then pays
 * one await per chunk instead of one per line (for access logs, the await cost more than the
 * parsing).
 */
export async function* readLineBatches(
  input: Readable,
  maxLineBytes: number,
  what = 'input',
  inflate: InflateLimits = defaultLimits,
): AsyncIterable<Line[]> {
  const source = decodedChunks(input, what, inflate);
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let skipping = 0;
  let no = 0;
  try {
    for await (const chunk of source) {
      const batch: Line[] = [];
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
          if (batch.length > 0) yield batch;
          break;
        }
        no++;
        const piece = chunk.subarray(start, nl);
        if (skipping || pendingLen + piece.length > maxLineBytes) {
          batch.push({ no, text: '', oversize: (skipping || pendingLen) + piece.length });
        } else {
          const buf = pendingLen ? Buffer.concat([...pending, piece]) : piece;
          batch.push({ no, text: stripCr(buf.toString('utf8')) });
        }
        pending = [];
        pendingLen = 0;
        skipping = 0;
        start = nl + 1;
      }
    }
  } catch (e) {
    // Say how far the good part went: the lines before the damage were already handed on.
    if (e instanceof ParseError && e.position) {
      throw new ParseError(
        `${e.message.replace(': gzip is damaged', `: gzip is damaged after line ${no}`)}`,
        {
          cause: e.cause,
          position: e.position,
        },
      );
    }
    throw e;
  }
  if (skipping) yield [{ no: no + 1, text: '', oversize: skipping }];
  else if (pendingLen) yield [{ no: no + 1, text: stripCr(Buffer.concat(pending).toString('utf8')) }];
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** The lines of an item; a line over the limit is set aside (`ctx.reject`) and not yielded. */
export async function* itemLines(item: RawItem, ctx: ParseContext): AsyncIterable<Line> {
  for await (const batch of itemLineBatches(item, ctx)) yield* batch;
}

/** itemLines a decoded chunk at a time (see readLineBatches). */
export async function* itemLineBatches(item: RawItem, ctx: ParseContext): AsyncIterable<readonly Line[]> {
  const max = ctx.limits.max_line_bytes;
  for await (const batch of readLineBatches(await openBody(item), max, item.origin.ref, ctx.limits)) {
    const kept = await fittingLines(batch, ctx);
    if (kept.length > 0) yield kept;
  }
}

/** The lines within max_line_bytes; each longer one is set aside (`ctx.reject`). */
export async function fittingLines(batch: readonly Line[], ctx: ParseContext): Promise<readonly Line[]> {
  if (!batch.some((l) => l.oversize)) return batch;
  const max = ctx.limits.max_line_bytes;
  const kept: Line[] = [];
  for (const line of batch) {
    if (!line.oversize) kept.push(line);
    else
      await ctx.reject(
        { ref: `line ${line.no}` },
        new LimitError(`line ${line.no} is ${line.oversize} bytes, over the ${max}-byte limit`),
      );
  }
  return kept;
}
