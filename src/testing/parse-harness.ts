import { Readable } from 'node:stream';
import { constants, gzipSync } from 'node:zlib';
import type { RawItem } from '../core/batch.js';
import type { ParseContext, Parser } from '../core/component.js';
import type { EventDraft } from '../core/event.js';
import { defaultLimits, type Limits } from '../core/limits.js';

export interface Rejected {
  ref: string;
  error: Error;
  data?: string;
}

/** An S3-object item whose body streams `data` in chunks of `chunk` bytes (to cross boundaries). */
export function s3Item(
  data: Buffer | string,
  opts: { bucket?: string; key?: string; etag?: string; chunk?: number } = {},
): RawItem {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const bucket = opts.bucket ?? 'logs-bucket';
  const key = opts.key ?? 'some/object';
  const chunk = opts.chunk ?? 64 * 1024;
  return {
    ackId: `${bucket}/${key}`,
    origin: {
      source: 'test',
      type: 's3',
      ref: `s3://${bucket}/${key}`,
      attrs: { bucket, key, etag: opts.etag ?? 'etag1', size: bytes.length },
    },
    body: {
      kind: 'stream',
      size: bytes.length,
      open: async () => {
        const parts: Buffer[] = [];
        for (let i = 0; i < bytes.length; i += chunk) parts.push(bytes.subarray(i, i + chunk));
        return Readable.from(parts);
      },
    },
  };
}

/** Runs a parser to the end; a thrown error is returned (not thrown) beside what came before it. */
export async function runParser(
  parser: Parser,
  item: RawItem,
  limits: Limits = defaultLimits,
): Promise<{ drafts: EventDraft[]; rejected: Rejected[]; error?: Error }> {
  const drafts: EventDraft[] = [];
  const rejected: Rejected[] = [];
  const ctx: ParseContext = {
    limits,
    reject: async (part, error) => {
      rejected.push({
        ref: part.ref,
        error,
        data: part.data === undefined ? undefined : Buffer.from(part.data).toString('utf8'),
      });
    },
  };
  try {
    for await (const d of parser.parse(item, ctx)) drafts.push(d);
  } catch (e) {
    return { drafts, rejected, error: e as Error };
  }
  return { drafts, rejected };
}

/**
 * Gzip of `text` flushed to a block boundary, without the final block and trailer: append
 * garbage and the stream is damaged exactly there (0xff is an invalid block type for zlib).
 */
export function gzipUpTo(text: string | Buffer): Buffer {
  return gzipSync(text, { finishFlush: constants.Z_FULL_FLUSH });
}

/** A parsed document as tests read it (deep field access without a cast per level). */
// biome-ignore lint/suspicious/noExplicitAny: tests walk nested ECS fields by name
export type Doc = Record<string, any>;
