import { jsonErrorReason, oneLine, ParseError } from '../../core/errors.js';

/** One object a notification announced. */
export interface ObjectRef {
  bucket: string;
  /** Decoded key (notifications URL-encode it, with '+' for space). */
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  sequencer?: string;
  eventTime?: string;
}

export interface Notice {
  objects: ObjectRef[];
  /** Why entries were skipped (test events, deletions…), for the logs. */
  skipped: string[];
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** S3 keys in notifications are URL-encoded form values: '+' is a space, %XX a byte. */
export function decodeKey(key: string): string {
  const plus = key.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    // A literal '%' that is not an escape: keep what we have rather than drop the object.
    return plus;
  }
}

/** ETags come quoted from ListObjects/GetObject and bare in notifications; ids must not differ. */
export function normalizeEtag(etag: unknown): string | undefined {
  return typeof etag === 'string' && etag !== '' ? etag.replace(/^"|"$/g, '') : undefined;
}

function fromS3Record(r: Json, out: Notice): void {
  const name = typeof r.eventName === 'string' ? r.eventName : '';
  const s3 = r.s3;
  if (!isObj(s3) || !isObj(s3.bucket) || !isObj(s3.object))
    throw new ParseError('S3 event record has no s3.bucket/s3.object');
  const bucket = s3.bucket.name;
  const key = s3.object.key;
  if (typeof bucket !== 'string' || typeof key !== 'string')
    throw new ParseError('S3 event record has no bucket name or object key');
  if (!name.startsWith('ObjectCreated:')) {
    out.skipped.push(`${name || 'event'} for s3://${bucket}/${decodeKey(key)}`);
    return;
  }
  out.objects.push({
    bucket,
    key: decodeKey(key),
    size: typeof s3.object.size === 'number' ? s3.object.size : undefined,
    etag: normalizeEtag(s3.object.eTag),
    versionId: typeof s3.object.versionId === 'string' ? s3.object.versionId : undefined,
    sequencer: typeof s3.object.sequencer === 'string' ? s3.object.sequencer : undefined,
    eventTime: typeof r.eventTime === 'string' ? r.eventTime : undefined,
  });
}

function fromEventBridge(e: Json, out: Notice): void {
  const detail = e.detail;
  if (e['detail-type'] !== 'Object Created') {
    out.skipped.push(`EventBridge '${String(e['detail-type'])}'`);
    return;
  }
  if (!isObj(detail) || !isObj(detail.bucket) || !isObj(detail.object))
    throw new ParseError('EventBridge S3 event has no detail.bucket/detail.object');
  const { bucket, object } = detail;
  if (typeof bucket.name !== 'string' || typeof object.key !== 'string')
    throw new ParseError('EventBridge S3 event has no bucket name or object key');
  out.objects.push({
    bucket: bucket.name,
    // Decoded like the S3 notification keys (AWS log keys hold no '+', '%' or spaces either way).
    key: decodeKey(object.key),
    size: typeof object.size === 'number' ? object.size : undefined,
    etag: normalizeEtag(object.etag),
    versionId: typeof object['version-id'] === 'string' ? object['version-id'] : undefined,
    sequencer: typeof object.sequencer === 'string' ? object.sequencer : undefined,
    eventTime: typeof e.time === 'string' ? e.time : undefined,
  });
}

function walk(v: unknown, out: Notice, depth: number): void {
  if (depth > 4) throw new ParseError('notification is nested too deeply');
  if (!isObj(v)) throw new ParseError('notification is not a JSON object');
  if (v.Event === 's3:TestEvent') {
    out.skipped.push(`s3:TestEvent for bucket ${String(v.Bucket)}`);
    return;
  }
  if (v.source === 'aws.s3' && 'detail-type' in v) {
    fromEventBridge(v, out);
    return;
  }
  // An SNS envelope (raw delivery off) as SQS receives it: the S3 event is a JSON string.
  if (v.Type === 'Notification' && typeof v.Message === 'string') {
    walk(parseJson(v.Message, 'SNS Message'), out, depth + 1);
    return;
  }
  if (Array.isArray(v.Records)) {
    for (const r of v.Records) {
      if (!isObj(r)) throw new ParseError('notification Records[] holds a non-object');
      if (isObj(r.s3)) fromS3Record(r, out);
      // SNS → Lambda: Records[].Sns.Message; SQS → Lambda: Records[].body.
      else if (isObj(r.Sns) && typeof r.Sns.Message === 'string')
        walk(parseJson(r.Sns.Message, 'SNS Message'), out, depth + 1);
      else if (typeof r.body === 'string') walk(parseJson(r.body, 'SQS body'), out, depth + 1);
      else
        throw new ParseError(
          `notification record is not an S3, SNS or SQS record (keys: ${Object.keys(r).slice(0, 6).join(', ')})`,
        );
    }
    return;
  }
  throw new ParseError(`not an S3 notification (keys: ${Object.keys(v).slice(0, 6).join(', ') || 'none'})`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ParseError(
      `${what} is not JSON (${jsonErrorReason(e)}; starts ${JSON.stringify(oneLine(text, 40))})`,
    );
  }
}

/**
 * The objects announced by any S3 notification shape: an S3 event (direct, or in an SQS body),
 * an SNS message carrying one (also inside SQS), or an EventBridge "Object Created" event.
 * Test events and non-create events are skipped; anything else is a ParseError.
 */
export function objectsFromNotification(value: unknown): Notice {
  const out: Notice = { objects: [], skipped: [] };
  walk(value, out, 0);
  return out;
}

/** Same, from the text of an SQS message body. */
export function objectsFromBody(body: string): Notice {
  return objectsFromNotification(parseJson(body, 'message body'));
}
