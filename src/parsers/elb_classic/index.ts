import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import {
  hostPort,
  int,
  isoMillis,
  type LineFormat,
  num,
  parseLines,
  splitRequest,
  str,
  tlsVersion,
} from '../aws_lb/fields.js';

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
  build(f, idParts, cloud): EventDraft | string {
    if (f.length !== 12 && f.length !== 15) return `has ${f.length} fields, classic ELB lines have 12 or 15`;
    const time = isoMillis(f[0]);
    if (time === undefined) return `has '${f[0]}' where the timestamp should be`;
    const client = hostPort(f[2]);
    const backend = hostPort(f[3]);
    const req = splitRequest(f[11]);
    const status = int(f[7]);
    const tls = tlsVersion(f[14]);
    const cipher = str(f[13]);
    const ua = str(f[12]);
    const doc = {
      '@timestamp': '',
      event: {
        kind: 'event',
        category: ['web'],
        type: ['access'],
        outcome: status === undefined ? undefined : status < 400 ? 'success' : 'failure',
        provider: 'elasticloadbalancing',
      },
      cloud,
      source: client ? { ip: client.ip, port: client.port, address: client.ip } : undefined,
      destination: backend ? { ip: backend.ip, port: backend.port, address: backend.ip } : undefined,
      http: {
        request: { method: req.method, bytes: int(f[9]) },
        response: { status_code: status, bytes: int(f[10]) },
        version: req.version,
      },
      url: req.url ? { original: req.url } : undefined,
      user_agent: ua ? { original: ua } : undefined,
      tls:
        tls || cipher
          ? { version_protocol: tls?.version_protocol, version: tls?.version, cipher }
          : undefined,
      aws: {
        elb: {
          type: 'classic',
          name: str(f[1]),
          protocol: req.method ? 'http' : 'tcp',
          request_processing_time: num(f[4]),
          backend_processing_time: num(f[5]),
          response_processing_time: num(f[6]),
          elb_status_code: status,
          backend_status_code: int(f[8]),
          ssl_cipher: cipher,
          ssl_protocol: str(f[14]),
        },
      },
    };
    return { dataset: DATASET, timestamp: time, doc, idParts };
  },
};

export class ElbClassicParser implements Parser {
  readonly name = 'elb_classic';
  parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    return parseLines(item, ctx, elbClassicFormat);
  }
}

export function create(): Parser {
  return new ElbClassicParser();
}
