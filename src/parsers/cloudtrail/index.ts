import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import { jsonErrorReason, LimitError, ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { keyContext, objectIdentity } from '../../formats/aws_lb/fields.js';
import { openBody } from '../../formats/bytes.js';
import { decodedChunks } from '../../formats/decode.js';
import { RecordsScanner, type ScannedRecord } from './scan.js';

export const DATASET = 'aws.cloudtrail';

/** Digest files prove integrity; they hold no events (`…/CloudTrail-Digest/…_CloudTrail-Digest_…`). */
export function isDigestKey(key: string): boolean {
  return /(^|\/)CloudTrail-Digest\//.test(key) || /_CloudTrail-Digest_/.test(key);
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function userOf(identity: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!identity) return undefined;
  const session = identity.sessionContext as { sessionIssuer?: { userName?: string } } | undefined;
  const arn = typeof identity.arn === 'string' ? identity.arn : undefined;
  const name =
    (identity.userName as string | undefined) ??
    session?.sessionIssuer?.userName ??
    (identity.type === 'Root' ? 'root' : undefined) ??
    arn?.split('/').pop();
  const out: Record<string, unknown> = {};
  if (name) out.name = name;
  if (typeof identity.principalId === 'string') out.id = identity.principalId;
  return Object.keys(out).length ? out : undefined;
}

/**
 * Whether a JSON object is a CloudTrail record: S3, SQS and Kinesis Lambda events also carry
 * `eventVersion` and `eventTime`, but only CloudTrail names a service endpoint as its
 * `eventSource` (Insights events name it inside `insightDetails`).
 */
export function isCloudTrailRecord(rec: unknown): rec is Record<string, unknown> {
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) return false;
  const r = rec as Record<string, unknown>;
  if (typeof r.eventVersion !== 'string' || typeof r.eventTime !== 'string') return false;
  const details = r.insightDetails as { eventSource?: unknown } | undefined;
  const source = r.eventSource ?? details?.eventSource;
  return typeof source === 'string' && source.endsWith('.amazonaws.com');
}

/**
 * One CloudTrail record as an ECS event. The record is kept whole under `aws.cloudtrail`; the
 * ECS fields are copies for searching and rules. The id comes from the record's own eventID
 * (unique per event, and the same when an organization trail delivers it twice).
 */
export function cloudTrailDraft(
  rec: Record<string, unknown>,
  fallbackId: (string | number)[],
  where: { account?: string; region?: string } = {},
): EventDraft {
  const time = typeof rec.eventTime === 'string' ? Date.parse(rec.eventTime) : Number.NaN;
  const ip = typeof rec.sourceIPAddress === 'string' ? rec.sourceIPAddress : undefined;
  const errorCode = typeof rec.errorCode === 'string' ? rec.errorCode : undefined;
  const doc: Record<string, unknown> = { '@timestamp': '' };
  const event: Record<string, unknown> = { kind: 'event', provider: rec.eventSource, action: rec.eventName };
  event.outcome = errorCode ? 'failure' : 'success';
  doc.event = event;
  // Records written before recipientAccountId existed (or trimmed by a forwarder) still have the
  // account and region in the key of the file that carried them.
  const region = rec.awsRegion || where.region;
  const account = rec.recipientAccountId || where.account;
  doc.cloud = {
    provider: 'aws',
    ...(region ? { region } : {}),
    ...(account ? { account: { id: account } } : {}),
  };
  if (ip) {
    // Calls made by AWS services carry the service's name here instead of an address.
    doc.source = IPV4.test(ip) || ip.includes(':') ? { ip, address: ip } : { address: ip, domain: ip };
  }
  if (typeof rec.userAgent === 'string') doc.user_agent = { original: rec.userAgent };
  const user = userOf(rec.userIdentity as Record<string, unknown> | undefined);
  if (user) doc.user = user;
  if (errorCode || rec.errorMessage) doc.error = { code: errorCode, message: rec.errorMessage };
  doc.aws = { cloudtrail: rec };
  const eventId = typeof rec.eventID === 'string' && rec.eventID !== '' ? rec.eventID : undefined;
  return {
    dataset: DATASET,
    timestamp: Number.isNaN(time) ? Date.now() : time,
    doc,
    idParts: eventId ? [eventId] : fallbackId,
  };
}

/**
 * Streams `{"Records":[…]}` (gzip or plain) record by record, so a 1 GB file needs no more
 * memory than its largest record. Digest files yield nothing. A record that is not valid JSON or
 * is over the record limit is set aside alone; a file cut short delivers every complete record
 * before the cut and then fails with where it stopped.
 */
export class CloudTrailParser implements Parser {
  readonly name = 'cloudtrail';

  async *parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    const key = String(item.origin.attrs?.key ?? item.origin.ref);
    if (isDigestKey(key)) return;
    const scanner = new RecordsScanner(ctx.limits.max_record_bytes, ctx.limits.max_key_bytes);
    const base = objectIdentity(item);
    const where = typeof item.origin.attrs?.key === 'string' ? keyContext(item.origin.attrs.key) : {};
    const found: ScannedRecord[] = [];
    for await (const chunk of decodedChunks(await openBody(item), item.origin.ref, ctx.limits)) {
      scanner.push(chunk, found);
      for (const r of found) {
        const draft = recordDraft(r, base, where, ctx.limits.max_record_bytes);
        if (draft instanceof Rejected) await ctx.reject(draft.part, draft.error);
        else yield draft;
      }
      found.length = 0;
    }
    scanner.end();
    if (!scanner.sawRecords) {
      if (scanner.topKeys.has('digestStartTime')) return;
      throw new ParseError('is not a CloudTrail log file: the JSON object has no Records array');
    }
  }
}

/** A record set aside, with why (see ParseContext.reject). */
class Rejected {
  constructor(
    readonly part: { ref: string; data?: Buffer },
    readonly error: Error,
  ) {}
}

/**
 * One scanned record as a draft, or why it is set aside. Synchronous: an await per record cost
 * a microtask turn for each of a file's records, which almost all are fine.
 */
function recordDraft(
  r: ScannedRecord,
  base: string[],
  where: { account?: string; region?: string },
  maxRecordBytes: number,
): EventDraft | Rejected {
  const ref = `Records[${r.index}]`;
  if (!r.bytes)
    return new Rejected(
      { ref },
      new LimitError(`${ref} is ${r.size} bytes, over the ${maxRecordBytes}-byte record limit`),
    );
  let rec: unknown;
  try {
    rec = JSON.parse(r.bytes.toString('utf8'));
  } catch (e) {
    return new Rejected(
      { ref, data: r.bytes },
      new ParseError(`${ref} is not valid JSON (${jsonErrorReason(e)})`),
    );
  }
  return cloudTrailDraft(rec as Record<string, unknown>, [...base, r.index], where);
}

export function create(): Parser {
  return new CloudTrailParser();
}
