import { isoMillis, keyContext } from '../../formats/aws_lb/fields.js';
import { tokenize } from '../../formats/aws_lb/tokenize.js';

export type AwsLogFormat = 'cloudtrail' | 'elb_classic' | 'alb' | 'nlb' | 'cloudwatch_logs';

/**
 * The documented key layouts:
 * - CloudTrail: `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
 *   (digests under `CloudTrail-Digest/`, Insights events under `CloudTrail-Insight/`);
 * - load balancers: `[prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/YYYY/MM/DD/<account>_elasticloadbalancing_<region>_<lb>_<end-time>_…log[.gz]`
 *   where `<lb>` is `app.<name>.<id>` for ALB, `net.<name>.<id>` for NLB and the bare name for classic.
 */
const CLOUDTRAIL_DIGEST = /(^|\/)CloudTrail-Digest\/|_CloudTrail-Digest_/;
const CLOUDTRAIL = /\d{12}_CloudTrail(-Insight)?_[a-z0-9-]+_\d{8}T\d{4}Z_[A-Za-z0-9]+\.json(\.gz)?$/;
const ELB = /\/(\d{12})_elasticloadbalancing_([a-z0-9-]+)_([^/]+?)_\d{8}T\d{4}Z_[^/]*\.log(\.gz)?$/;

export function formatFromKey(key: string): AwsLogFormat | 'digest' | undefined {
  if (CLOUDTRAIL_DIGEST.test(key)) return 'digest';
  if (CLOUDTRAIL.test(key)) return 'cloudtrail';
  const m = ELB.exec(key);
  if (m) {
    const lb = m[3]!;
    if (lb.startsWith('app.')) return 'alb';
    if (lb.startsWith('net.')) return 'nlb';
    return 'elb_classic';
  }
  return undefined;
}

export { keyContext };

const ALB_TYPES = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);
const HOST_PORT = /^[0-9a-fA-F.:[\]]+:\d+$/;

/** Recognizes a format from the first (decompressed) bytes of an object whose key said nothing. */
export function sniffFormat(head: string): AwsLogFormat | undefined {
  const text = head.trimStart();
  if (text.startsWith('{')) return sniffJson(text);
  const nl = text.indexOf('\n');
  // A first line cut off by the sniff window still shows its leading fields.
  const line = (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '');
  const f = tokenize(line) ?? line.split(' ');
  if (ALB_TYPES.has(f[0] ?? '') && isoMillis(f[1]) !== undefined && HOST_PORT.test(f[3] ?? '')) return 'alb';
  if (f[0] === 'tls' && /^\d+\.\d+$/.test(f[1] ?? '') && isoMillis(f[2]) !== undefined) return 'nlb';
  if (/^\d{4}-\d\d-\d\dT/.test(f[0] ?? '') && isoMillis(f[0]) !== undefined && HOST_PORT.test(f[2] ?? '')) {
    return 'elb_classic';
  }
  return undefined;
}

/** Lambda events (Kinesis, S3, SQS, SNS) also open with `{"Records":[`: only CloudTrail's records name an `*.amazonaws.com` endpoint. */
const CLOUDTRAIL_RECORD = /"eventSource"\s*:\s*"[a-z0-9.-]+\.amazonaws\.com"/;
const RECORDS_START = /^\{\s*"Records"\s*:\s*\[\s*(\]|\{)/;
/** CloudWatch Logs writes `messageType` first in every subscription message (Firehose archives hold them back to back). */
const SUBSCRIPTION_START = /^\{\s*"messageType"\s*:\s*"(DATA|CONTROL)_MESSAGE"/;

/**
 * JSON documents are recognized by their fields, not their first key: a CloudTrail file's first
 * record must carry `eventTime` and a service `eventSource` (an empty `Records` array is a
 * CloudTrail file with no events); digests by their own keys.
 */
function sniffJson(text: string): AwsLogFormat | undefined {
  if (SUBSCRIPTION_START.test(text)) return 'cloudwatch_logs';
  if (/^\{\s*"(digestStartTime|awsAccountId)"/.test(text)) return 'cloudtrail';
  const records = RECORDS_START.exec(text);
  if (!records) return undefined;
  if (records[1] === ']') return 'cloudtrail';
  return CLOUDTRAIL_RECORD.test(text) && /"eventTime"\s*:/.test(text) ? 'cloudtrail' : undefined;
}
