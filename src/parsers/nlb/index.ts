import type { Parser } from '../../core/component.js';
import type { EcsDocument, EventDraft } from '../../core/event.js';
import {
  cloudWriter,
  type EndpointWithBytes,
  EventEnd,
  endpointOpen,
  endpointWithBytes,
  type LbEvent,
} from '../../formats/aws_lb/access.js';
import {
  int,
  isoMillis,
  type LineFormat,
  LineParser,
  num,
  str,
  tlsVersion,
} from '../../formats/aws_lb/fields.js';
import { type LbParserOptions, lbParserSchema } from '../../formats/aws_lb/schema.js';
import {
  BlockText,
  braces,
  memberKey,
  membersOf,
  NumberMember,
  quote,
  StringMember,
  StringsMember,
} from '../../formats/json_text.js';

export const DATASET = 'aws.nlb';

/**
 * Network Load Balancer TLS listener logs: `type version time elb listener client:port
 * destination:port connection_time tls_handshake_time received_bytes sent_bytes
 * incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher tls_protocol_version
 * tls_named_group domain_name alpn_fe_protocol alpn_be_protocol alpn_client_preference_list
 * tls_connection_creation_time`, new fields appended at the end. Times are milliseconds.
 */
export const NLB_FIELD_COUNT = 22;

/** `aws.elb` of an NLB document, keys in the order the JSON text has them. */
interface NlbElb {
  type: 'network';
  protocol: 'tls';
  log_version: string | undefined;
  name: string | undefined;
  listener: string | undefined;
  connection_time_ms: number | undefined;
  tls_handshake_time_ms: number | undefined;
  received_bytes: number | undefined;
  sent_bytes: number | undefined;
  incoming_tls_alert: string | undefined;
  chosen_cert_arn: string | undefined;
  chosen_cert_serial: string | undefined;
  tls_cipher: string | undefined;
  tls_protocol_version: string | undefined;
  tls_named_group: string | undefined;
  domain_name: string | undefined;
  alpn_fe_protocol: string | undefined;
  alpn_be_protocol: string | undefined;
  alpn_client_preference_list: string[] | undefined;
  tls_connection_creation_time: string | undefined;
  extra_fields: string[] | undefined;
}

type NlbDoc = {
  '@timestamp': string;
  event: LbEvent;
  cloud: Record<string, unknown>;
  source: EndpointWithBytes | undefined;
  destination: EndpointWithBytes | undefined;
  tls: {
    version_protocol: string | undefined;
    version: string | undefined;
    cipher: string | undefined;
    client: { server_name: string } | undefined;
    next_protocol: string | undefined;
  };
  aws: { elb: NlbElb };
};

const STRINGS = [
  'version_protocol',
  'version',
  'cipher',
  'next_protocol',
  'log_version',
  'name',
  'listener',
  'incoming_tls_alert',
  'chosen_cert_arn',
  'chosen_cert_serial',
  'tls_cipher',
  'tls_protocol_version',
  'tls_named_group',
  'domain_name',
  'alpn_fe_protocol',
  'alpn_be_protocol',
  'tls_connection_creation_time',
] as const;
const NUMBERS = [
  'duration',
  'bytes',
  'connection_time_ms',
  'tls_handshake_time_ms',
  'received_bytes',
  'sent_bytes',
] as const;
const LISTS = ['alpn_client_preference_list', 'extra_fields'] as const;

function nlbEndpoint(key: string) {
  const k = memberKey(key);
  const block = new BlockText(
    (ip: string, port: number | undefined, address: string) => `${k}${endpointOpen(ip, port, address)}`,
  );
  const bytes = new NumberMember(memberKey('bytes'));
  return (p: EndpointWithBytes | undefined) =>
    p === undefined ? '' : `${block.of(p.ip, p.port, p.address)}${bytes.of(p.bytes)}}`;
}

/** The JSON text of an NLB doc, member for member as nlbFormat.build orders them. */
function nlbWriter(cloud: Record<string, unknown>): (doc: EcsDocument) => string {
  const cloudJson = cloudWriter(cloud);
  const eventEnd = new EventEnd();
  const source = nlbEndpoint('source');
  const destination = nlbEndpoint('destination');
  const serverName = new BlockText((name: string) => `,"client":{"server_name":${quote(name)}}`);
  const s = membersOf(STRINGS, StringMember);
  const n = membersOf(NUMBERS, NumberMember);
  const l = membersOf(LISTS, StringsMember);
  return (doc) => {
    const d = doc as unknown as NlbDoc;
    const t = d.tls;
    const e = d.aws.elb;
    return (
      `{"@timestamp":"${d['@timestamp']}","event":{"kind":"event","category":["network"],"type":["connection"],"provider":"elasticloadbalancing"` +
      `${n.duration.of(d.event.duration)}${eventEnd.of(d.event)},"cloud":${cloudJson(d.cloud)}` +
      source(d.source) +
      destination(d.destination) +
      `,"tls":${braces(
        s.version_protocol.of(t.version_protocol) +
          s.version.of(t.version) +
          s.cipher.of(t.cipher) +
          (t.client === undefined ? '' : serverName.of(t.client.server_name, undefined, undefined)) +
          s.next_protocol.of(t.next_protocol),
      )}` +
      `,"aws":{"elb":{"type":"network","protocol":"tls"` +
      s.log_version.of(e.log_version) +
      s.name.of(e.name) +
      s.listener.of(e.listener) +
      n.connection_time_ms.of(e.connection_time_ms) +
      n.tls_handshake_time_ms.of(e.tls_handshake_time_ms) +
      n.received_bytes.of(e.received_bytes) +
      n.sent_bytes.of(e.sent_bytes) +
      s.incoming_tls_alert.of(e.incoming_tls_alert) +
      s.chosen_cert_arn.of(e.chosen_cert_arn) +
      s.chosen_cert_serial.of(e.chosen_cert_serial) +
      s.tls_cipher.of(e.tls_cipher) +
      s.tls_protocol_version.of(e.tls_protocol_version) +
      s.tls_named_group.of(e.tls_named_group) +
      s.domain_name.of(e.domain_name) +
      s.alpn_fe_protocol.of(e.alpn_fe_protocol) +
      s.alpn_be_protocol.of(e.alpn_be_protocol) +
      l.alpn_client_preference_list.of(e.alpn_client_preference_list) +
      s.tls_connection_creation_time.of(e.tls_connection_creation_time) +
      `${l.extra_fields.of(e.extra_fields)}}}}`
    );
  };
}

export const nlbFormat: LineFormat = {
  label: 'NLB',
  minFields: 18,
  build(f, idParts, { cloud, copies, toJson }): EventDraft | string {
    if (f[0] !== 'tls') return `starts with '${f[0]}', NLB lines start with 'tls'`;
    const time = isoMillis(f[2]);
    if (time === undefined) return `has '${f[2]}' where the time should be`;
    const tls = tlsVersion(f[15]);
    const connectionMs = num(f[7]);
    const serverName = str(f[17]);
    const doc: NlbDoc = {
      '@timestamp': '',
      event: {
        kind: 'event',
        category: ['network'],
        type: ['connection'],
        provider: 'elasticloadbalancing',
        duration: connectionMs === undefined ? undefined : Math.round(connectionMs * 1e6),
      },
      cloud,
      source: endpointWithBytes(f[5], int(f[9])),
      destination: endpointWithBytes(f[6], int(f[10])),
      tls: {
        version_protocol: tls?.version_protocol,
        version: tls?.version,
        cipher: str(f[14]),
        client: serverName ? { server_name: serverName } : undefined,
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
          domain_name: copies ? serverName : undefined,
          alpn_fe_protocol: copies ? str(f[18]) : undefined,
          alpn_be_protocol: str(f[19]),
          // Written as "h2","http/1.1": the tokenizer drops the outer quotes only.
          alpn_client_preference_list: str(f[20])?.split('","'),
          tls_connection_creation_time: str(f[21]),
          extra_fields: f.length > NLB_FIELD_COUNT ? f.slice(NLB_FIELD_COUNT) : undefined,
        },
      },
    };
    return { dataset: DATASET, timestamp: time, doc, idParts, toJson };
  },
  writer: nlbWriter,
};

export class NlbParser extends LineParser {
  constructor(opts: LbParserOptions = { aws_copies: false }) {
    super('nlb', nlbFormat, opts.aws_copies);
  }
}

export function create(opts: Record<string, unknown> = {}): Parser {
  return new NlbParser(lbParserSchema.parse(opts));
}
