import type { EcsDocument } from '../../core/event.js';
import {
  BlockText,
  braces,
  jsonNumber,
  memberKey,
  NumberMember,
  optNumber,
  optString,
  quote,
  StringMember,
} from '../json_text.js';
import { digitsValue, int, splitRequest, str, tlsVersion } from './fields.js';

export interface Endpoint {
  ip: string;
  port: number | undefined;
  address: string;
}

/** NLB's endpoints carry the bytes each side sent. */
export interface EndpointWithBytes extends Endpoint {
  bytes: number | undefined;
}

/**
 * `ip:port` in ECS shape (IPv6 addresses carry colons too, so the port is after the last one);
 * `address` repeats the IP as ECS asks for where no name is known.
 */
export function endpoint(v: string | undefined): Endpoint | undefined {
  const s = str(v);
  if (!s) return undefined;
  const c = s.lastIndexOf(':');
  const port = c <= 0 ? Number.NaN : (digitsValue(s, c + 1) ?? Number(s.slice(c + 1)));
  if (!Number.isInteger(port)) return { ip: s, port: undefined, address: s };
  const ip = s.slice(0, c);
  return { ip, port, address: ip };
}

export function endpointWithBytes(
  v: string | undefined,
  bytes: number | undefined,
): EndpointWithBytes | undefined {
  const e = endpoint(v);
  return e ? { ip: e.ip, port: e.port, address: e.address, bytes } : undefined;
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
/** The `event` block of a load-balancer access document (one shape: every key always present). */
export function webAccessEvent(status: number | undefined) {
  return {
    kind: 'event',
    category: ['web'],
    type: ['access'],
    outcome: status === undefined ? undefined : status < 400 ? 'success' : 'failure',
    provider: 'elasticloadbalancing',
  };
}

export function httpAccessDoc(f: HttpAccessFields, cloud: Record<string, unknown>) {
  const req = splitRequest(f.request);
  const status = int(f.status);
  const tls = tlsVersion(f.sslProtocol);
  const cipher = str(f.sslCipher);
  const ua = str(f.userAgent);
  const domain = str(f.domain);
  const doc: HttpAccessDoc = {
    '@timestamp': '',
    event: webAccessEvent(status),
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

/** `{"ip":…,"port":…,"address":…` without its closing brace (NLB adds bytes). */
export function endpointOpen(ip: string, port: number | undefined, address: string): string {
  const q = quote(ip);
  // `address` is the IP itself (see endpoint): quoted once.
  return `{"ip":${q}${optNumber(PORT, port)},"address":${address === ip ? q : quote(address)}`;
}

const PORT = memberKey('port');

/** A `source`/`destination` member, remembered for the address it was last written for. */
export function endpointMember(key: string): BlockText<string, number | undefined, string> {
  const k = memberKey(key);
  return new BlockText((ip, port, address) => `${k}${endpointOpen(ip, port, address)}}`);
}

/** `,"id":…,"dataset":…}`: what finalizeEvent appends to every event block, and its end. */
export class EventEnd {
  private readonly dataset = new StringMember(memberKey('dataset'));
  of(e: LbEvent): string {
    // finalizeEvent's base64url id (these parsers carry no id of their own): nothing JSON escapes.
    return `${e.id === undefined ? '' : `,"id":"${e.id}"`}${this.dataset.of(e.dataset)}}`;
  }
}

/**
 * The cloud block of one object's lines (shared by all of them) serialized once; a doc holding
 * another cloud object is written as it is.
 */
export function cloudWriter(cloud: Record<string, unknown>): (c: Record<string, unknown>) => string {
  const text = JSON.stringify(cloud);
  return (c) => (c === cloud ? text : JSON.stringify(c));
}

type Maybe<T> = T | undefined;

/** `,"key":{…}` from up to three optional members (`{}` when all are absent), remembered. */
function optionalBlock<A, B, C>(
  key: string,
  members: [(a: A) => string, (b: B) => string, (c: C) => string],
  first = false,
): BlockText<A, B, C> {
  const k = `${first ? '' : ','}${JSON.stringify(key)}:`;
  return new BlockText((a, b, c) => `${k}${braces(members[0](a) + members[1](b) + members[2](c))}`);
}

const BYTES = memberKey('bytes');

/**
 * `{first,"key":n}` where `first` is a member written without its comma ('' when absent): the
 * request and response blocks, whose byte counts differ on every line.
 */
function pair(first: string, key: string, n: number | undefined): string {
  if (n === undefined) return `{${first}}`;
  return first === '' ? `{${key.slice(1)}${jsonNumber(n)}}` : `{${first}${key}${jsonNumber(n)}}`;
}

function strMember(key: string): (v: Maybe<string>) => string {
  const k = memberKey(key);
  return (v) => optString(k, v);
}

const none = () => '';

/**
 * Writes an HttpAccessDoc as JSON.stringify would (`@timestamp` is finalizeEvent's isoTime text,
 * which nothing in JSON escapes), from `{` to the end of `tls`, without the
 * closing brace (the format's `aws` block follows): `cloud` is the object's shared block. Each
 * writer remembers the text of the values it last wrote (one writer per object).
 */
export function httpAccessJsonWriter(cloud: Record<string, unknown>): (d: HttpAccessDoc) => string {
  const cloudJson = cloudWriter(cloud);
  const outcome = new StringMember(memberKey('outcome'));
  const eventEnd = new EventEnd();
  const source = endpointMember('source');
  const destination = endpointMember('destination');
  const method = new StringMember('"method":');
  const status = new NumberMember('"status_code":');
  const version = new StringMember(memberKey('version'));
  const url = optionalBlock<Maybe<string>, Maybe<string>, undefined>('url', [
    strMember('original'),
    strMember('domain'),
    none,
  ]);
  const userAgent = new BlockText((ua: string) => `,"user_agent":{"original":${quote(ua)}}`);
  const tls = optionalBlock<Maybe<string>, Maybe<string>, Maybe<string>>('tls', [
    strMember('version_protocol'),
    strMember('version'),
    strMember('cipher'),
  ]);
  return (d) => {
    const e = d.event;
    const h = d.http;
    const s = d.source;
    const t = d.destination;
    return (
      `{"@timestamp":"${d['@timestamp']}","event":{"kind":"event","category":["web"],"type":["access"]` +
      `${outcome.of(e.outcome)},"provider":"elasticloadbalancing"${eventEnd.of(e)},"cloud":${cloudJson(d.cloud)}` +
      (s === undefined ? '' : source.of(s.ip, s.port, s.address)) +
      (t === undefined ? '' : destination.of(t.ip, t.port, t.address)) +
      `,"http":{"request":${pair(method.of(h.request.method), BYTES, h.request.bytes)}` +
      `,"response":${pair(status.of(h.response.status_code), BYTES, h.response.bytes)}` +
      `${version.of(h.version)}}` +
      (d.url === undefined ? '' : url.of(d.url.original, d.url.domain, undefined)) +
      (d.user_agent === undefined ? '' : userAgent.of(d.user_agent.original, undefined, undefined)) +
      (d.tls === undefined ? '' : tls.of(d.tls.version_protocol, d.tls.version, d.tls.cipher))
    );
  };
}

/** A format's writer for whole documents, as EventDraft.toJson takes it. */
export type DocWriter = (doc: EcsDocument) => string;
