import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Secret } from '../../config/secrets.js';
import {
  type ErrorDetails,
  isLogferryError,
  jsonErrorReason,
  LimitError,
  SourceError,
} from '../../core/errors.js';
import { gunzipCapped } from '../../core/limits.js';
import { parseJsonBytes } from '../../formats/json_pieces.js';

/** A request the intake turns away, with the HTTP status that tells the sender what to do. */
export class IntakeRequestError extends SourceError {
  constructor(
    readonly status: number,
    message: string,
    details: Omit<ErrorDetails, 'stage'> = {},
  ) {
    super(message, { ...details, retryable: status === 429 || status >= 500 });
  }
}

/** Request ids become part of event ids and origins: only plain tokens are taken as they are. */
const SAFE_ID = /^[A-Za-z0-9][\w.:-]{0,127}$/;

export function safeId(value: unknown): string | undefined {
  return typeof value === 'string' && SAFE_ID.test(value) ? value : undefined;
}

/**
 * The body Firehose POSTs (protocol version 1.0): the request id again, when the request was
 * made (ms since the epoch), and the records, each one's bytes in base64.
 */
export const firehoseRequestSchema = z.object({
  requestId: z.string().regex(SAFE_ID, 'requestId is not a plain id'),
  timestamp: z.number().int().nonnegative(),
  records: z.array(z.object({ data: z.string() })),
});
export type FirehoseRequest = z.infer<typeof firehoseRequestSchema>;

/** `X-Amz-Firehose-Common-Attributes: {"commonAttributes": {"name": "value", …}}`. */
const commonAttributesSchema = z.object({
  commonAttributes: z.record(z.string().max(256), z.string().max(1024)),
});

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function commonAttributes(raw: string | undefined): Record<string, string> {
  if (raw === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new IntakeRequestError(400, `X-Amz-Firehose-Common-Attributes is not JSON (${jsonErrorReason(e)})`);
  }
  const parsed = commonAttributesSchema.safeParse(value);
  if (!parsed.success)
    throw new IntakeRequestError(400, 'X-Amz-Firehose-Common-Attributes is not {"commonAttributes": {…}}');
  return parsed.data.commonAttributes;
}

const STREAM_ARN = /^arn:[\w-]+:firehose:[\w-]+:\d{12}:deliverystream\/([\w.-]{1,64})$/;

/** The delivery stream's name from X-Amz-Firehose-Source-Arn, when the header is a well-formed ARN. */
export function streamName(arn: string | undefined): string | undefined {
  return arn === undefined ? undefined : STREAM_ARN.exec(arn)?.[1];
}

/** Where a Firehose request's records are: a request of megabytes is parsed a piece of them at a time. */
const RECORDS = ['records'];

export function parseFirehoseBody(body: Buffer): FirehoseRequest {
  let value: unknown;
  try {
    value = parseJsonBytes(body, RECORDS);
  } catch (e) {
    throw new IntakeRequestError(400, `body is not JSON (${jsonErrorReason(e)})`);
  }
  const parsed = firehoseRequestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new IntakeRequestError(
      400,
      `body is not a Firehose request: ${issue.path.join('.') || 'body'}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/**
 * Compares what the sender presented with the configured secret without leaking, through
 * timing, how much of it matched or how long it is (both sides are hashed to the same length).
 */
export function secretMatches(given: string | undefined, secret: Secret): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret.reveal()).digest();
  return timingSafeEqual(a, b);
}

export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(authorization)?.[1];
}

export interface BodyLimits {
  maxBodyBytes: number;
  maxDecodedBytes: number;
}

/**
 * Reads a request body within the limits: refuses a declared Content-Length over the cap before
 * reading a byte, stops reading once the cap is passed, and gunzips `Content-Encoding: gzip`
 * with its own ceiling (413 for a bomb, 400 for damaged gzip).
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = (header(req, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') {
    const shown = /^[\w-]{1,32}$/.test(encoding) ? ` '${encoding}'` : '';
    throw new IntakeRequestError(415, `content-encoding${shown} is not supported: send gzip or nothing`);
  }
  const declared = Number(header(req, 'content-length'));
  if (declared > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limits.maxBodyBytes) throw tooLarge(limits.maxBodyBytes);
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks, size);
  if (encoding === 'identity') return body;
  try {
    return gunzipCapped(body, limits.maxDecodedBytes, 'request body');
  } catch (e) {
    if (e instanceof LimitError) throw new IntakeRequestError(413, e.message, { cause: e });
    throw new IntakeRequestError(400, isLogferryError(e) ? e.message : 'request body is not valid gzip', {
      cause: e,
    });
  }
}

function tooLarge(max: number): IntakeRequestError {
  return new IntakeRequestError(413, `request body is over the ${max}-byte limit`);
}
