import type { Parser } from '../../core/component.js';
import type { EcsDocument, EventDraft } from '../../core/event.js';
import {
  endpoint,
  type HttpAccessDoc,
  httpAccessJsonWriter,
  webAccessEvent,
} from '../../formats/aws_lb/access.js';
import {
  int,
  isoMillis,
  type LineFormat,
  LineParser,
  num,
  splitRequest,
  str,
  tlsVersion,
} from '../../formats/aws_lb/fields.js';
import { type LbParserOptions, lbParserSchema } from '../../formats/aws_lb/schema.js';
import { membersOf, NumberMember, StringMember, StringsMember } from '../../formats/json_text.js';

export const DATASET = 'aws.alb';

/**
 * Application Load Balancer fields in log order (AWS documents that new fields are appended at
 * the end: anything after these lands in `aws.elb.extra_fields`). Lines from before a field was
 * added simply stop earlier; the oldest ALB lines end with trace_id.
 */
export const ALB_FIELDS = [
  'type',
  'time',
  'elb',
  'client:port',
  'target:port',
  'request_processing_time',
  'target_processing_time',
  'response_processing_time',
  'elb_status_code',
  'target_status_code',
  'received_bytes',
  'sent_bytes',
  'request',
  'user_agent',
  'ssl_cipher',
  'ssl_protocol',
  'target_group_arn',
  'trace_id',
  'domain_name',
  'chosen_cert_arn',
  'matched_rule_priority',
  'request_creation_time',
  'actions_executed',
  'redirect_url',
  'error_reason',
  'target:port_list',
  'target_status_code_list',
  'classification',
  'classification_reason',
  'conn_trace_id',
  'transformed_host',
  'transformed_uri',
  'request_transform_status',
] as const;

const MIN_FIELDS = 18;

function list(v: string | undefined): string[] | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  // Mostly one value: skip the split (this runs three times per line).
  if (s.indexOf(',') === -1 && s.indexOf(' ') === -1) return [s];
  return s.split(/[ ,]+/).filter((x) => x !== '');
}

/** `aws.elb` of an ALB document, keys in the order the JSON text has them. */
interface AlbElb {
  type: 'application';
  protocol: string | undefined;
  name: string | undefined;
  request_processing_time: number | undefined;
  target_processing_time: number | undefined;
  backend_processing_time: number | undefined;
  response_processing_time: number | undefined;
  elb_status_code: number | undefined;
  target_status_code: number | undefined;
  backend_status_code: number | undefined;
  ssl_cipher: string | undefined;
  ssl_protocol: string | undefined;
  target_group_arn: string | undefined;
  trace_id: string | undefined;
  chosen_cert_arn: string | undefined;
  matched_rule_priority: number | undefined;
  request_creation_time: string | undefined;
  actions_executed: string[] | undefined;
  redirect_url: string | undefined;
  error_reason: string | undefined;
  target_port_list: string[] | undefined;
  target_status_code_list: string[] | undefined;
  classification: string | undefined;
  classification_reason: string | undefined;
  conn_trace_id: string | undefined;
  transformed_host: string | undefined;
  transformed_uri: string | undefined;
  request_transform_status: string | undefined;
  extra_fields: string[] | undefined;
}

type AlbDoc = HttpAccessDoc & { aws: { elb: AlbElb } };

const STRINGS = [
  'protocol',
  'name',
  'ssl_cipher',
  'ssl_protocol',
  'target_group_arn',
  'trace_id',
  'chosen_cert_arn',
  'request_creation_time',
  'redirect_url',
  'error_reason',
  'classification',
  'classification_reason',
  'conn_trace_id',
  'transformed_host',
  'transformed_uri',
  'request_transform_status',
] as const;
const NUMBERS = [
  'request_processing_time',
  'target_processing_time',
  'backend_processing_time',
  'response_processing_time',
  'elb_status_code',
  'target_status_code',
  'backend_status_code',
  'matched_rule_priority',
] as const;
const LISTS = ['actions_executed', 'target_port_list', 'target_status_code_list', 'extra_fields'] as const;

/** The JSON text of an ALB doc, member for member as albFormat.build orders them. */
function albWriter(cloud: Record<string, unknown>): (doc: EcsDocument) => string {
  const head = httpAccessJsonWriter(cloud);
  const s = membersOf(STRINGS, StringMember);
  const n = membersOf(NUMBERS, NumberMember);
  const l = membersOf(LISTS, StringsMember);
  return (doc) => {
    const d = doc as unknown as AlbDoc;
    const e = d.aws.elb;
    return (
      `${head(d)},"aws":{"elb":{"type":"application"` +
      s.protocol.of(e.protocol) +
      s.name.of(e.name) +
      n.request_processing_time.of(e.request_processing_time) +
      n.target_processing_time.of(e.target_processing_time) +
      n.backend_processing_time.of(e.backend_processing_time) +
      n.response_processing_time.of(e.response_processing_time) +
      n.elb_status_code.of(e.elb_status_code) +
      n.target_status_code.of(e.target_status_code) +
      n.backend_status_code.of(e.backend_status_code) +
      s.ssl_cipher.of(e.ssl_cipher) +
      s.ssl_protocol.of(e.ssl_protocol) +
      s.target_group_arn.of(e.target_group_arn) +
      s.trace_id.of(e.trace_id) +
      s.chosen_cert_arn.of(e.chosen_cert_arn) +
      n.matched_rule_priority.of(e.matched_rule_priority) +
      s.request_creation_time.of(e.request_creation_time) +
      l.actions_executed.of(e.actions_executed) +
      s.redirect_url.of(e.redirect_url) +
      s.error_reason.of(e.error_reason) +
      l.target_port_list.of(e.target_port_list) +
      l.target_status_code_list.of(e.target_status_code_list) +
      s.classification.of(e.classification) +
      s.classification_reason.of(e.classification_reason) +
      s.conn_trace_id.of(e.conn_trace_id) +
      s.transformed_host.of(e.transformed_host) +
      s.transformed_uri.of(e.transformed_uri) +
      s.request_transform_status.of(e.request_transform_status) +
      `${l.extra_fields.of(e.extra_fields)}}}}`
    );
  };
}

export const albFormat: LineFormat = {
  label: 'ALB',
  minFields: MIN_FIELDS,
  build(f, idParts, { cloud, copies, toJson }): EventDraft | string {
    const time = isoMillis(f[1]);
    if (time === undefined) return `has '${f[1]}' where the time should be`;
    const req = splitRequest(f[12]);
    const status = int(f[8]);
    const tls = tlsVersion(f[15]);
    const cipher = str(f[14]);
    const ua = str(f[13]);
    const domain = str(f[18]);
    const targetTime = num(f[6]);
    // One literal, every key always present (absent values undefined, which JSON leaves out):
    // one hidden class for every line, and no property added later.
    const doc: AlbDoc = {
      '@timestamp': '',
      event: webAccessEvent(status),
      cloud,
      source: endpoint(f[3]),
      destination: endpoint(f[4]),
      http: {
        request: { method: req.method, bytes: int(f[10]) },
        response: { status_code: status, bytes: int(f[11]) },
        version: req.version,
      },
      url: req.url || domain ? { original: req.url, domain } : undefined,
      user_agent: ua ? { original: ua } : undefined,
      tls:
        tls || cipher
          ? { version_protocol: tls?.version_protocol, version: tls?.version, cipher }
          : undefined,
      aws: {
        elb: {
          type: 'application',
          protocol: str(f[0]),
          name: str(f[2]),
          request_processing_time: num(f[5]),
          target_processing_time: targetTime,
          // Classic ELB's name for the target time, so one field once served both (aws_copies).
          backend_processing_time: copies ? targetTime : undefined,
          response_processing_time: num(f[7]),
          elb_status_code: copies ? status : undefined,
          target_status_code: int(f[9]),
          backend_status_code: copies ? int(f[9]) : undefined,
          ssl_cipher: copies ? cipher : undefined,
          ssl_protocol: copies ? str(f[15]) : undefined,
          target_group_arn: str(f[16]),
          trace_id: str(f[17]),
          chosen_cert_arn: str(f[19]),
          matched_rule_priority: int(f[20]),
          request_creation_time: str(f[21]),
          actions_executed: list(f[22]),
          redirect_url: str(f[23]),
          error_reason: str(f[24]),
          target_port_list: list(f[25]),
          target_status_code_list: list(f[26]),
          classification: str(f[27]),
          classification_reason: str(f[28]),
          conn_trace_id: str(f[29]),
          transformed_host: str(f[30]),
          transformed_uri: str(f[31]),
          request_transform_status: str(f[32]),
          extra_fields: f.length > ALB_FIELDS.length ? f.slice(ALB_FIELDS.length) : undefined,
        },
      },
    };
    return { dataset: DATASET, timestamp: time, doc, idParts, toJson };
  },
  writer: albWriter,
};

export class AlbParser extends LineParser {
  constructor(opts: LbParserOptions = { aws_copies: false }) {
    super('alb', albFormat, opts.aws_copies);
  }
}

export function create(opts: Record<string, unknown> = {}): Parser {
  return new AlbParser(lbParserSchema.parse(opts));
}
