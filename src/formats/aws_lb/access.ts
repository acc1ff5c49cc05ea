import { hostPort, int, splitRequest, str, tlsVersion } from './fields.js';

export interface Endpoint {
  ip: string;
  port?: number;
  address: string;
}

/** An address in ECS shape; `address` repeats the IP as ECS asks for where no name is known. */
export function endpoint(v: string | undefined, extra?: Record<string, unknown>): Endpoint | undefined {
  const hp = hostPort(v);
  if (!hp) return undefined;
  // Without extras, a plain literal: a spread (even of {}) copied the object per line.
  return extra
    ? { ip: hp.ip, port: hp.port, address: hp.ip, ...extra }
    : { ip: hp.ip, port: hp.port, address: hp.ip };
}

/** The fields of one HTTP request line that classic ELB and ALB logs share, by position. */
export interface HttpAccessFields {
  client: string | undefined;
  backend: string | undefined;
  status: string | undefined;
  receivedBytes: string | undefined;
  sentBytes: string | undefined;
  request: string | undefined;
  userAgent: string | undefined;
  sslCipher: string | undefined;
  sslProtocol: string | undefined;
  domain?: string | undefined;
}

/**
 * The ECS part of a load-balancer HTTP access document (event, source, destination, http, url,
 * user_agent, tls); each format adds its own `aws.elb` block. Absent fields stay undefined, which
 * JSON leaves out: deleting keys instead would slow V8 down on this hot path.
 */
export function httpAccessDoc(f: HttpAccessFields, cloud: Record<string, unknown>) {
  const req = splitRequest(f.request);
  const status = int(f.status);
  const tls = tlsVersion(f.sslProtocol);
  const cipher = str(f.sslCipher);
  const ua = str(f.userAgent);
  const domain = str(f.domain);
  return {
    status,
    method: req.method,
    doc: {
      '@timestamp': '',
      event: {
        kind: 'event',
        category: ['web'],
        type: ['access'],
        outcome: status === undefined ? undefined : status < 400 ? 'success' : 'failure',
        provider: 'elasticloadbalancing',
      },
      cloud,
      source: endpoint(f.client),
      destination: endpoint(f.backend),
      http: {
        request: { method: req.method, bytes: int(f.receivedBytes) },
        response: { status_code: status, bytes: int(f.sentBytes) },
        version: req.version,
      },
      url: req.url || domain ? { original: req.url, domain } : undefined,
      user_agent: ua ? { original: ua } : undefined,
      tls:
        tls || cipher
          ? { version_protocol: tls?.version_protocol, version: tls?.version, cipher }
          : undefined,
    } as Record<string, unknown>,
  };
}
