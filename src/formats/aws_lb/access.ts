import type { EcsDocument } from '../../core/event.js';
import { braces, memberKey, optNumber, optString, quote } from '../json_text.js';
import { hostPort, int, splitRequest, str, tlsVersion } from './fields.js';

export interface Endpoint {
  ip: string;
  port: number | undefined;
  address: string;
}

/** NLB's endpoints carry the bytes each side sent. */
export interface EndpointWithBytes extends Endpoint {
  bytes: number | undefined;
}

/** An address in ECS shape; `address` repeats the IP as ECS asks for where no name is known. */
export function endpoint(v: string | undefined): Endpoint | undefined {
  const hp = hostPort(v);
  return hp ? { ip: hp.ip, port: hp.port, address: hp.ip } : undefined;
}

export function endpointWithBytes(
  v: string | undefined,
  bytes: number | undefined,
): EndpointWithBytes | undefined {
  const hp = hostPort(v);
  return hp ? { ip: hp.ip, port: hp.port, address: hp.ip, bytes } : undefined;
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

/** The `event` block before finalizeEvent adds its id and dataset. */
export interface LbEvent {
  kind: string;
  category: string[];
  type: string[];
  outcome?: string | undefined;
  provider: string;
  duration?: number | undefined;
  id?: string;
  dataset?: string;
}

/**
 * The ECS part of a load-balancer HTTP access document, keys in this order (JSON text follows
 * it); each format adds its own `aws.elb` block after them. A type, not an interface: docs are
 * records (EventDraft.doc), which only a type literal is assignable to.
 */
export type HttpAccessDoc = {
  '@timestamp': string;
  event: LbEvent;
  cloud: Record<string, unknown>;
  source: Endpoint | undefined;
  destination: Endpoint | undefined;
  http: {
    request: { method: string | undefined; bytes: number | undefined };
    response: { status_code: number | undefined; bytes: number | undefined };
    version: string | undefined;
  };
  url: { original: string | undefined; domain: string | undefined } | undefined;
  user_agent: { original: string } | undefined;
  tls:
    | { version_protocol: string | undefined; version: string | undefined; cipher: string | undefined }
    | undefined;
};

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
  const doc: HttpAccessDoc = {
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
      tls || cipher ? { version_protocol: tls?.version_protocol, version: tls?.version, cipher } : undefined,
  };
  return { status, method: req.method, doc };
}

const K = {
  outcome: memberKey('outcome'),
  id: memberKey('id'),
  dataset: memberKey('dataset'),
  port: memberKey('port'),
  bytes: memberKey('bytes'),
  source: memberKey('source'),
  destination: memberKey('destination'),
  method: memberKey('method'),
  statusCode: memberKey('status_code'),
  version: memberKey('version'),
  original: memberKey('original'),
  domain: memberKey('domain'),
  versionProtocol: memberKey('version_protocol'),
  cipher: memberKey('cipher'),
};

/** `,"id":…,"dataset":…}`: what finalizeEvent appends to every event block, and its end. */
export function eventEnd(e: LbEvent): string {
  return `${optString(K.id, e.id)}${optString(K.dataset, e.dataset)}}`;
}

/** `{"ip":…,"port":…,"address":…` without its closing brace (NLB adds bytes). */
export function endpointOpen(p: Endpoint): string {
  return `{"ip":${quote(p.ip)}${optNumber(K.port, p.port)},"address":${quote(p.address)}`;
}

function endpointMember(key: string, p: Endpoint | undefined): string {
  return p === undefined ? '' : `${key}${endpointOpen(p)}}`;
}

/**
 * The cloud block of one object's lines (shared by all of them) serialized once; a doc holding
 * another cloud object is written as it is.
 */
export function cloudWriter(cloud: Record<string, unknown>): (c: Record<string, unknown>) => string {
  const text = JSON.stringify(cloud);
  return (c) => (c === cloud ? text : JSON.stringify(c));
}

/**
 * Writes an HttpAccessDoc as JSON.stringify would, from `{` to the end of `tls`, without the
 * closing brace (the format's `aws` block follows): `cloud` is the object's shared block.
 */
export function httpAccessJsonWriter(cloud: Record<string, unknown>): (d: HttpAccessDoc) => string {
  const cloudJson = cloudWriter(cloud);
  return (d) => {
    const e = d.event;
    const h = d.http;
    const tls = d.tls;
    return (
      `{"@timestamp":${quote(d['@timestamp'])},"event":{"kind":"event","category":["web"],"type":["access"]` +
      `${optString(K.outcome, e.outcome)},"provider":"elasticloadbalancing"${eventEnd(e)}` +
      `,"cloud":${cloudJson(d.cloud)}` +
      endpointMember(K.source, d.source) +
      endpointMember(K.destination, d.destination) +
      `,"http":{"request":${braces(optString(K.method, h.request.method) + optNumber(K.bytes, h.request.bytes))}` +
      `,"response":${braces(optNumber(K.statusCode, h.response.status_code) + optNumber(K.bytes, h.response.bytes))}` +
      `${optString(K.version, h.version)}}` +
      (d.url === undefined
        ? ''
        : `,"url":${braces(optString(K.original, d.url.original) + optString(K.domain, d.url.domain))}`) +
      (d.user_agent === undefined ? '' : `,"user_agent":{"original":${quote(d.user_agent.original)}}`) +
      (tls === undefined
        ? ''
        : `,"tls":${braces(optString(K.versionProtocol, tls.version_protocol) + optString(K.version, tls.version) + optString(K.cipher, tls.cipher))}`)
    );
  };
}

/** A format's writer for whole documents, as EventDraft.toJson takes it. */
export type DocWriter = (doc: EcsDocument) => string;
