/**
 * A strict fake of the Duo Admin API log endpoints on loopback, for tests, the benchmark and
 * `pull duo --demo`. It checks requests the way Duo does (HMAC-SHA512 signature over the
 * canonical request, Date header within a window), pages like Duo (auth/telephony v2 with
 * next_offset, administrator v1 by mintime), and answers with Duo's JSON error bodies.
 *
 * The signature check is written here from Duo's documented canonical form on purpose, not by
 * calling @duosecurity/duo_api: a bug in how we use the library must show up as a 401.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Marks that a response was sent, so every branch of the handler visibly ends in one. */
type Sent = true;

export type DuoLogKind = 'authentication' | 'administrator' | 'telephony';

/** Events of one log, sorted by (ts, id). Either an array or a generator, so a million costs no memory. */
export interface FakeEventStore {
  readonly size: number;
  ts(i: number): number;
  id(i: number): string;
  body(i: number): Record<string, unknown>;
}

export interface StoredEvent {
  /** Milliseconds; what Duo sorts and pages by. */
  ts: number;
  /** txid (auth), telephony_id (telephony) or any unique text (admin). */
  id: string;
  body: Record<string, unknown>;
}

export class ArrayEventStore implements FakeEventStore {
  readonly events: StoredEvent[] = [];
  get size() {
    return this.events.length;
  }
  ts(i: number) {
    return this.events[i]!.ts;
  }
  id(i: number) {
    return this.events[i]!.id;
  }
  body(i: number) {
    return this.events[i]!.body;
  }
  add(list: StoredEvent[]): void {
    this.events.push(...list);
    this.events.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** `403`: an integration without the "Grant read log" permission, refused by Duo for good. */
export type Fault = '403' | '429' | '500' | 'malformed' | 'truncated';

export interface FakeDuoOptions {
  ikey?: string;
  skey?: string;
  /** The API hostname clients sign for (`api-XXXXXXXX.duosecurity.com`). */
  host?: string;
  /** The fake's clock; shift it to simulate a client with a skewed clock. */
  now?: () => number;
  /** Fraction of requests answered 429 (deterministic sequence). */
  rateLimit?: number;
  /** How far a Date header may be from the fake's clock. */
  maxSkewMs?: number;
  /** Duo's delay: v2 `maxtime` must be at least this far in the past. */
  delayMs?: number;
  /** Time the fake takes to answer each request, like Duo over the internet (default none). */
  latencyMs?: number;
}

interface DuoErrorBody {
  code: number;
  message: string;
  message_detail?: string;
  stat: 'FAIL';
}

const PATHS: Record<string, DuoLogKind> = {
  '/admin/v2/logs/authentication': 'authentication',
  '/admin/v1/logs/administrator': 'administrator',
  '/admin/v2/logs/telephony': 'telephony',
};

export interface RecordedRequest {
  path: string;
  params: Record<string, string>;
  status: number;
}

export class FakeDuo {
  readonly ikey: string;
  readonly skey: string;
  readonly host: string;
  readonly stores: Record<DuoLogKind, FakeEventStore>;
  readonly requests: RecordedRequest[] = [];
  /** Ids whose timestamp fields are removed from responses (the "event missing timestamp" fault). */
  readonly withoutTimestamp = new Set<string>();
  now: () => number;
  rateLimit: number;
  latencyMs: number;
  private readonly maxSkewMs: number;
  private readonly delayMs: number;
  private readonly faults: { fault: Fault; path?: string; remaining: number }[] = [];
  private server: Server | undefined;
  private rateCounter = 0;

  constructor(opts: FakeDuoOptions = {}) {
    this.ikey = opts.ikey ?? 'DIWJ8X6AEYOR5OMC6TQ1';
    this.skey = opts.skey ?? 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep';
    this.host = (opts.host ?? 'api-fake0001.duosecurity.com').toLowerCase();
    this.now = opts.now ?? Date.now;
    this.rateLimit = opts.rateLimit ?? 0;
    this.latencyMs = opts.latencyMs ?? 0;
    this.maxSkewMs = opts.maxSkewMs ?? 300_000;
    this.delayMs = opts.delayMs ?? 120_000;
    this.stores = {
      authentication: new ArrayEventStore(),
      administrator: new ArrayEventStore(),
      telephony: new ArrayEventStore(),
    };
  }

  /** Adds events to a log kept in memory (replaces a generated store with an array one). */
  add(kind: DuoLogKind, events: StoredEvent[]): void {
    let store = this.stores[kind];
    if (!(store instanceof ArrayEventStore)) {
      store = new ArrayEventStore();
      this.stores[kind] = store;
    }
    (store as ArrayEventStore).add(events);
  }

  /** The next `times` requests (to `path`, if given) get this fault. */
  inject(fault: Fault, times = 1, path?: string): this {
    this.faults.push({ fault, path, remaining: times });
    return this;
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (this.latencyMs > 0) setTimeout(() => this.handle(req, body, res), this.latencyMs);
        else this.handle(req, body, res);
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse): Sent {
    const url = new URL(req.url ?? '/', 'http://fake');
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    const reply = (status: number, payload: unknown, raw?: string): Sent => {
      this.requests.push({ path: url.pathname, params, status });
      const text = raw ?? JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return true;
    };
    const fail = (status: number, code: number, message: string, detail?: string): Sent =>
      reply(status, {
        code,
        message,
        ...(detail ? { message_detail: detail } : {}),
        stat: 'FAIL',
      } satisfies DuoErrorBody);

    const authError = this.verify(req, url, body);
    if (authError) return fail(401, authError.code, authError.message);

    const fault = this.faults.find((f) => f.remaining > 0 && (!f.path || f.path === url.pathname));
    if (fault) {
      fault.remaining--;
      if (fault.fault === '403') return fail(403, 40301, 'Access forbidden');
      if (fault.fault === '429') return fail(429, 42901, 'Too Many Requests');
      if (fault.fault === '500') return fail(500, 50000, 'Internal server error');
      if (fault.fault === 'malformed') return reply(200, null, '<html><body>Bad Gateway</body></html>');
      return reply(200, null, '{"stat": "OK", "response": {"authlogs": [{"txid": "');
    }
    if (this.rateLimit > 0) {
      // A deterministic stream: every request adds `rateLimit`; each whole unit is one 429.
      const before = Math.floor(this.rateCounter);
      this.rateCounter += this.rateLimit;
      if (Math.floor(this.rateCounter) > before) return fail(429, 42901, 'Too Many Requests');
    }

    const kind = PATHS[url.pathname];
    if (!kind || req.method !== 'GET') return fail(404, 40401, 'Resource not found');
    const now = this.now();
    if (kind === 'administrator') return this.adminLog(params, now, reply, fail);
    return this.v2Log(kind, params, now, reply, fail);
  }

  /** Checks the Authorization and Date headers like Duo; returns the error to send, if any. */
  private verify(
    req: IncomingMessage,
    url: URL,
    body: string,
  ): { code: number; message: string } | undefined {
    const header = req.headers.authorization;
    const date = req.headers['x-duo-date'] ?? req.headers.date;
    if (!header?.startsWith('Basic ') || typeof date !== 'string')
      return { code: 40101, message: 'Missing request credentials' };
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const ikey = decoded.slice(0, colon);
    const sig = decoded.slice(colon + 1);
    if (colon < 0 || ikey !== this.ikey)
      return { code: 40102, message: 'Invalid integration key in request credentials' };
    const when = Date.parse(date);
    if (!Number.isFinite(when) || Math.abs(when - this.now()) > this.maxSkewMs)
      return { code: 40105, message: 'Request date is outside the allowed window' };
    const host = (req.headers.host ?? '').toLowerCase();
    if (host !== this.host) return { code: 40103, message: 'Invalid signature in request credentials' };
    const canonParams = canonicalParams(url.searchParams);
    const v2 = [date, req.method!.toUpperCase(), host, url.pathname, canonParams].join('\n');
    const v5 = [v2, sha512(body), sha512('')].join('\n');
    for (const canon of [v5, v2]) {
      const expected = createHmac('sha512', this.skey).update(canon).digest('hex');
      if (expected.length === sig.length && timingSafeEqual(Buffer.from(expected), Buffer.from(sig)))
        return undefined;
    }
    return { code: 40103, message: 'Invalid signature in request credentials' };
  }

  private v2Log(
    kind: DuoLogKind,
    params: Record<string, string>,
    now: number,
    reply: (s: number, p: unknown) => Sent,
    fail: (s: number, c: number, m: string, d?: string) => Sent,
  ): Sent {
    const mintime = Number(params.mintime);
    const maxtime = Number(params.maxtime);
    const limit = params.limit === undefined ? 100 : Number(params.limit);
    if (
      !/^\d{13}$/.test(params.mintime ?? '') ||
      !/^\d{13}$/.test(params.maxtime ?? '') ||
      mintime >= maxtime
    )
      return fail(400, 40003, 'Invalid request parameters', 'mintime');
    // Duo answers such requests with nothing; the fake refuses them so a client bug shows.
    if (maxtime > now - this.delayMs)
      return fail(400, 40003, 'Invalid request parameters', 'maxtime (logs are delayed two minutes)');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return fail(400, 40003, 'Invalid request parameters', 'limit');
    const sort = params.sort ?? 'ts:desc';
    if (sort !== 'ts:asc' && sort !== 'ts:desc')
      return fail(400, 40003, 'Invalid request parameters', 'sort');
    const store = this.stores[kind];

    let after: { ts: number; id: string } | undefined;
    if (params.next_offset) {
      after =
        kind === 'authentication'
          ? parseAuthOffset(params.next_offset)
          : parseOpaqueOffset(params.next_offset);
      if (!after) return fail(400, 40003, 'Invalid request parameters', 'next_offset');
    }
    const page: number[] = [];
    let more = false;
    if (sort === 'ts:asc') {
      let i = after ? upperBound(store, after.ts, after.id) : lowerBound(store, mintime);
      for (; i < store.size && store.ts(i) <= maxtime; i++) {
        if (store.ts(i) < mintime) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push(i);
      }
    } else {
      let i = after ? lowerBoundKey(store, after.ts, after.id) - 1 : upperBoundTs(store, maxtime) - 1;
      for (; i >= 0 && store.ts(i) >= mintime; i--) {
        if (store.ts(i) > maxtime) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push(i);
      }
    }
    const events = page.map((i) => this.bodyOf(kind, store, i));
    const last = page.at(-1);
    const offset =
      more && last !== undefined
        ? kind === 'authentication'
          ? [String(store.ts(last)), store.id(last)]
          : Buffer.from(`${store.ts(last)},${store.id(last)}`).toString('base64url')
        : null;
    const list = kind === 'authentication' ? 'authlogs' : 'items';
    const metadata =
      kind === 'authentication'
        ? { next_offset: offset, total_objects: page.length }
        : { next_offset: offset };
    return reply(200, { response: { [list]: events, metadata }, stat: 'OK' });
  }

  private adminLog(
    params: Record<string, string>,
    now: number,
    reply: (s: number, p: unknown) => Sent,
    fail: (s: number, c: number, m: string, d?: string) => Sent,
  ): Sent {
    const mintime = params.mintime === undefined ? 0 : Number(params.mintime);
    if (!Number.isInteger(mintime) || (params.mintime !== undefined && !/^\d{1,10}$/.test(params.mintime)))
      return fail(400, 40003, 'Invalid request parameters', 'mintime');
    const store = this.stores.administrator;
    const newest = now - this.delayMs;
    const out: Record<string, unknown>[] = [];
    for (let i = lowerBound(store, mintime * 1000); i < store.size && out.length < 1000; i++) {
      if (store.ts(i) > newest) break;
      out.push(this.bodyOf('administrator', store, i));
    }
    return reply(200, { stat: 'OK', response: out });
  }

  private bodyOf(kind: DuoLogKind, store: FakeEventStore, i: number): Record<string, unknown> {
    const body = store.body(i);
    if (!this.withoutTimestamp.has(store.id(i))) return body;
    const { timestamp: _t, isotimestamp: _i, ts: _ts, ...rest } = body;
    void kind;
    return rest;
  }
}

/** Duo's canonical parameters: keys sorted by code unit, RFC 3986 percent-encoding of keys and values. */
export function canonicalParams(params: URLSearchParams): string {
  const byKey = new Map<string, string[]>();
  for (const [k, v] of params) byKey.set(k, [...(byKey.get(k) ?? []), v]);
  const keys = [...byKey.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  for (const k of keys) for (const v of byKey.get(k)!) parts.push(`${rfc3986(k)}=${rfc3986(v)}`);
  return parts.join('&');
}

function rfc3986(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function sha512(s: string): string {
  return createHash('sha512').update(s).digest('hex');
}

function parseAuthOffset(v: string): { ts: number; id: string } | undefined {
  const [ts, id] = v.split(',');
  return ts && id && /^\d{13}$/.test(ts) ? { ts: Number(ts), id } : undefined;
}

function parseOpaqueOffset(v: string): { ts: number; id: string } | undefined {
  const text = Buffer.from(v, 'base64url').toString('utf8');
  const comma = text.indexOf(',');
  const ts = Number(text.slice(0, comma));
  return comma > 0 && Number.isFinite(ts) ? { ts, id: text.slice(comma + 1) } : undefined;
}

function cmp(store: FakeEventStore, i: number, ts: number, id: string): number {
  const t = store.ts(i);
  if (t !== ts) return t - ts;
  const x = store.id(i);
  return x < id ? -1 : x > id ? 1 : 0;
}

/** First index with ts >= `ts`. */
function lowerBound(store: FakeEventStore, ts: number): number {
  let lo = 0;
  let hi = store.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (store.ts(mid) < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with ts > `ts`. */
function upperBoundTs(store: FakeEventStore, ts: number): number {
  let lo = 0;
  let hi = store.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (store.ts(mid) <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose (ts, id) is greater than the given key. */
function upperBound(store: FakeEventStore, ts: number, id: string): number {
  let lo = 0;
  let hi = store.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(store, mid, ts, id) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose (ts, id) is not less than the given key. */
function lowerBoundKey(store: FakeEventStore, ts: number, id: string): number {
  let lo = 0;
  let hi = store.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(store, mid, ts, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
