import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';

const SLICE = 16 * 1024;

import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { RawItem } from '../../core/batch.js';
import { oneLine, ParseError, SourceError } from '../../core/errors.js';
import { awsClientConfig } from '../../platform/aws.js';
import type { ObjectRef } from './notifications.js';
import type { FormatOverride, S3SqsSourceConfig } from './schema.js';

export const objectUrl = (ref: { bucket: string; key: string }) => `s3://${ref.bucket}/${ref.key}`;

/** The parser an override names for this object, the longest matching prefix winning. */
export function parserFor(ref: ObjectRef, overrides: readonly FormatOverride[]): string | undefined {
  let best: FormatOverride | undefined;
  for (const o of overrides) {
    if (o.bucket && o.bucket !== ref.bucket) continue;
    if (!ref.key.startsWith(o.prefix)) continue;
    if (!best || o.prefix.length > best.prefix.length || (o.bucket && !best.bucket)) best = o;
  }
  return best?.parser;
}

function errorName(e: unknown): string {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return err.Code ?? err.name ?? 'Error';
}

/**
 * Why GetObject failed, as a typed error: a deleted object or a denied read cannot get better by
 * retrying the same message, so those are dead-lettered (with the bucket/key to replay later);
 * throttling, 5xx and network errors are retryable and leave the message for another try.
 */
export function classifyGetError(e: unknown, ref: ObjectRef): Error {
  const name = errorName(e);
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new SourceError(
      `${objectUrl(ref)} no longer exists (NoSuchKey): it was deleted before it was read`,
      {
        cause: e,
        retryable: false,
      },
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new SourceError(
      `access denied reading ${objectUrl(ref)} (AccessDenied): give the reader s3:GetObject on it (and kms:Decrypt for SSE-KMS)`,
      { cause: e, retryable: false },
    );
  }
  const msg = oneLine((e as Error)?.message ?? String(e), 160);
  return new SourceError(`GetObject ${objectUrl(ref)} failed (${name}: ${msg})`, {
    cause: e,
    retryable: true,
  });
}

/** Streams an object; a read that breaks midway is retryable (events already sent are deduplicated by id). */
export async function openObject(client: S3Client, ref: ObjectRef, signal?: AbortSignal): Promise<Readable> {
  let res: GetObjectCommandOutput;
  try {
    res = await client.send(
      new GetObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        ...(ref.versionId ? { VersionId: ref.versionId } : {}),
      }),
      signal ? { abortSignal: signal } : undefined,
    );
  } catch (e) {
    throw classifyGetError(e, ref);
  }
  if (res.ContentLength === 0) throw new ParseError('object is empty (0 bytes)');
  const body = res.Body as Readable | undefined;
  if (!body) throw new SourceError(`GetObject ${objectUrl(ref)} returned no body`, { retryable: true });
  const out = new Transform({
    highWaterMark: 64 * 1024,
    // Slices of at most 16 KB: when gzip is damaged, zlib drops what it inflated from the
    // slice it was given, so small slices keep every record before the damage but a few.
    transform(chunk: Buffer, _enc, done) {
      for (let i = 0; i < chunk.length; i += SLICE) this.push(chunk.subarray(i, i + SLICE));
      done();
    },
  });
  body.on('error', (e) =>
    out.destroy(
      new SourceError(`reading ${objectUrl(ref)} broke off (${oneLine(e.message, 120)})`, {
        cause: e,
        retryable: true,
      }),
    ),
  );
  out.on('close', () => {
    // The consumer stopped early (a parse error): release the HTTP connection.
    if (!body.destroyed) body.destroy();
  });
  body.pipe(out);
  return out;
}

/** One object as a pipeline item: streamed when the parser asks, identified for ids and errors. */
export function objectItem(
  client: S3Client,
  source: string,
  ref: ObjectRef,
  ackId: string,
  overrides: readonly FormatOverride[],
): RawItem {
  return {
    ackId,
    origin: {
      source,
      type: 's3',
      ref: objectUrl(ref),
      attrs: {
        bucket: ref.bucket,
        key: ref.key,
        etag: ref.etag,
        version_id: ref.versionId,
        size: ref.size,
        sequencer: ref.sequencer,
      },
    },
    body: { kind: 'stream', size: ref.size, open: () => openObject(client, ref) },
    parser: parserFor(ref, overrides),
  };
}

/** The S3 client a source config describes (its `s3` settings, else its `aws` ones). */
export function s3ClientFor(cfg: S3SqsSourceConfig): S3Client {
  return new S3Client(awsClientConfig(cfg.s3 ?? cfg.aws));
}
