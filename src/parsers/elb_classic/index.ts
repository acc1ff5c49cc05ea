import type { Parser } from '../../core/component.js';
import type { EcsDocument, EventDraft } from '../../core/event.js';
import { type HttpAccessDoc, httpAccessDoc, httpAccessJsonWriter } from '../../formats/aws_lb/access.js';
import { int, isoMillis, type LineFormat, LineParser, num, str } from '../../formats/aws_lb/fields.js';
import { type LbParserOptions, lbParserSchema } from '../../formats/aws_lb/schema.js';
import { membersOf, NumberMember, StringMember } from '../../formats/json_text.js';

export const DATASET = 'aws.elb';

/** `aws.elb` of a classic ELB document, keys in the order the JSON text has them. */
interface ClassicElb {
  type: 'classic';
  name: string | undefined;
  protocol: 'http' | 'tcp';
  request_processing_time: number | undefined;
  backend_processing_time: number | undefined;
  response_processing_time: number | undefined;
  elb_status_code: number | undefined;
  backend_status_code: number | undefined;
  ssl_cipher: string | undefined;
  ssl_protocol: string | undefined;
}

type ElbDoc = HttpAccessDoc & { aws?: { elb: ClassicElb } };

/** The JSON text of a classic ELB doc, member for member as elbClassicFormat.build orders them. */
function elbWriter(cloud: Record<string, unknown>): (doc: EcsDocument) => string {
  const head = httpAccessJsonWriter(cloud);
  const s = membersOf(['name', 'ssl_cipher', 'ssl_protocol'], StringMember);
  const n = membersOf(
    [
      'request_processing_time',
      'backend_processing_time',
      'response_processing_time',
      'elb_status_code',
      'backend_status_code',
    ],
    NumberMember,
  );
  return (doc) => {
    const d = doc as unknown as ElbDoc;
    const e = d.aws?.elb;
    if (e === undefined) return JSON.stringify(doc);
    return (
      `${head(d)},"aws":{"elb":{"type":"classic"` +
      s.name.of(e.name) +
      `,"protocol":"${e.protocol}"` +
      n.request_processing_time.of(e.request_processing_time) +
      n.backend_processing_time.of(e.backend_processing_time) +
      n.response_processing_time.of(e.response_processing_time) +
      n.elb_status_code.of(e.elb_status_code) +
      n.backend_status_code.of(e.backend_status_code) +
      s.ssl_cipher.of(e.ssl_cipher) +
      `${s.ssl_protocol.of(e.ssl_protocol)}}}}`
    );
  };
}

/**
 * Classic Load Balancer: `timestamp elb client:port backend:port request_processing_time
 * backend_processing_time response_processing_time elb_status_code backend_status_code
 * received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol`. Lines written
 * before user_agent and the SSL fields were added have 12 fields.
 */
export const elbClassicFormat: LineFormat = {
  label: 'classic ELB',
  minFields: 12,
  maxFields: 15,
  build(f, idParts, { cloud, copies, toJson }): EventDraft | string {
    if (f.length !== 12 && f.length !== 15) return `has ${f.length} fields, classic ELB lines have 12 or 15`;
    const time = isoMillis(f[0]);
    if (time === undefined) return `has '${f[0]}' where the timestamp should be`;
    const access = httpAccessDoc(
      {
        client: f[2],
        backend: f[3],
        status: f[7],
        receivedBytes: f[9],
        sentBytes: f[10],
        request: f[11],
        userAgent: f[12],
        sslCipher: f[13],
        sslProtocol: f[14],
      },
      cloud,
    );
    const doc: ElbDoc = access.doc;
    doc.aws = {
      elb: {
        type: 'classic',
        name: str(f[1]),
        protocol: access.method ? 'http' : 'tcp',
        request_processing_time: num(f[4]),
        backend_processing_time: num(f[5]),
        response_processing_time: num(f[6]),
        elb_status_code: copies ? access.status : undefined,
        backend_status_code: int(f[8]),
        ssl_cipher: copies ? str(f[13]) : undefined,
        ssl_protocol: copies ? str(f[14]) : undefined,
      },
    };
    return { dataset: DATASET, timestamp: time, doc, idParts, toJson };
  },
  writer: elbWriter,
};

export class ElbClassicParser extends LineParser {
  constructor(opts: LbParserOptions = { aws_copies: false }) {
    super('elb_classic', elbClassicFormat, opts.aws_copies);
  }
}

export function create(opts: Record<string, unknown> = {}): Parser {
  return new ElbClassicParser(lbParserSchema.parse(opts));
}
