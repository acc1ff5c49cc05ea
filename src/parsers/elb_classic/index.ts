import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import { httpAccessDoc } from '../../formats/aws_lb/access.js';
import { int, isoMillis, type LineFormat, num, parseLines, str } from '../../formats/aws_lb/fields.js';
import { type LbParserOptions, lbParserSchema } from '../../formats/aws_lb/schema.js';

export const DATASET = 'aws.elb';

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
  build(f, idParts, cloud, copies): EventDraft | string {
    if (f.length !== 12 && f.length !== 15) return `has ${f.length} fields, classic ELB lines have 12 or 15`;
    const time = isoMillis(f[0]);
    if (time === undefined) return `has '${f[0]}' where the timestamp should be`;
    const { doc, status, method } = httpAccessDoc(
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
    doc.aws = {
      elb: {
        type: 'classic',
        name: str(f[1]),
        protocol: method ? 'http' : 'tcp',
        request_processing_time: num(f[4]),
        backend_processing_time: num(f[5]),
        response_processing_time: num(f[6]),
        elb_status_code: copies ? status : undefined,
        backend_status_code: int(f[8]),
        ssl_cipher: copies ? str(f[13]) : undefined,
        ssl_protocol: copies ? str(f[14]) : undefined,
      },
    };
    return { dataset: DATASET, timestamp: time, doc, idParts };
  },
};

export class ElbClassicParser implements Parser {
  readonly name = 'elb_classic';
  constructor(private readonly opts: LbParserOptions = { aws_copies: false }) {}
  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return parseLines(item, ctx, elbClassicFormat, this.opts.aws_copies);
  }
}

export function create(opts: Record<string, unknown> = {}): Parser {
  return new ElbClassicParser(lbParserSchema.parse(opts));
}
