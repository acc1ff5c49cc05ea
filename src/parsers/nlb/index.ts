import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import { endpoint } from '../../formats/aws_lb/access.js';
import {
  int,
  isoMillis,
  type LineFormat,
  num,
  parseLines,
  str,
  tlsVersion,
} from '../../formats/aws_lb/fields.js';
import { type LbParserOptions, lbParserSchema } from '../../formats/aws_lb/schema.js';

export const DATASET = 'aws.nlb';

/**
 * Network Load Balancer TLS listener logs: `type version time elb listener client:port
 * destination:port connection_time tls_handshake_time received_bytes sent_bytes
 * incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher tls_protocol_version
 * tls_named_group domain_name alpn_fe_protocol alpn_be_protocol alpn_client_preference_list
 * tls_connection_creation_time`, new fields appended at the end. Times are milliseconds.
 */
export const NLB_FIELD_COUNT = 22;

export const nlbFormat: LineFormat = {
  label: 'NLB',
  minFields: 18,
  build(f, idParts, cloud, copies): EventDraft | string {
    if (f[0] !== 'tls') return `starts with '${f[0]}', NLB lines start with 'tls'`;
    const time = isoMillis(f[2]);
    if (time === undefined) return `has '${f[2]}' where the time should be`;
    const tls = tlsVersion(f[15]);
    const connectionMs = num(f[7]);
    const doc = {
      '@timestamp': '',
      event: {
        kind: 'event',
        category: ['network'],
        type: ['connection'],
        provider: 'elasticloadbalancing',
        duration: connectionMs === undefined ? undefined : Math.round(connectionMs * 1e6),
      },
      cloud,
      source: endpoint(f[5], { bytes: int(f[9]) }),
      destination: endpoint(f[6], { bytes: int(f[10]) }),
      tls: {
        version_protocol: tls?.version_protocol,
        version: tls?.version,
        cipher: str(f[14]),
        client: str(f[17]) ? { server_name: str(f[17]) } : undefined,
        next_protocol: str(f[18]),
      },
      aws: {
        elb: {
          type: 'network',
          protocol: 'tls',
          log_version: str(f[1]),
          name: str(f[3]),
          listener: str(f[4]),
          connection_time_ms: connectionMs,
          tls_handshake_time_ms: num(f[8]),
          received_bytes: copies ? int(f[9]) : undefined,
          sent_bytes: copies ? int(f[10]) : undefined,
          incoming_tls_alert: str(f[11]),
          chosen_cert_arn: str(f[12]),
          chosen_cert_serial: str(f[13]),
          tls_cipher: copies ? str(f[14]) : undefined,
          tls_protocol_version: copies ? str(f[15]) : undefined,
          tls_named_group: str(f[16]),
          domain_name: copies ? str(f[17]) : undefined,
          alpn_fe_protocol: copies ? str(f[18]) : undefined,
          alpn_be_protocol: str(f[19]),
          // Written as "h2","http/1.1": the tokenizer drops the outer quotes only.
          alpn_client_preference_list: str(f[20])?.split('","'),
          tls_connection_creation_time: str(f[21]),
          extra_fields: f.length > NLB_FIELD_COUNT ? f.slice(NLB_FIELD_COUNT) : undefined,
        },
      },
    };
    return { dataset: DATASET, timestamp: time, doc, idParts };
  },
};

export class NlbParser implements Parser {
  readonly name = 'nlb';
  constructor(private readonly opts: LbParserOptions = { aws_copies: false }) {}
  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return parseLines(item, ctx, nlbFormat, this.opts.aws_copies);
  }
}

export function create(opts: Record<string, unknown> = {}): Parser {
  return new NlbParser(lbParserSchema.parse(opts));
}
