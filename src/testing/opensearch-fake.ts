/**
 * A strict loopback OpenSearch for tests and benchmarks: `_bulk`, index templates, a document
 * store to read back, and the faults a real cluster shows. It checks what a real cluster checks
 * (content type, NDJSON framing and the final newline, action/metadata lines, `_id` conflicts on
 * `create`, dynamic-mapping type conflicts, `http.max_content_length` → 413, data streams taking
 * only `create`) and answers with bodies shaped like OpenSearch's. Drive it with the official
 * client only.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FakeAuth =
  | { basic: { username: string; password: string } }
  | { apiKey: string }
  /** Checks the SigV4 Authorization header's shape, scope and body hash (Amazon OpenSearch Service). */
  | {
      sigv4: {
        service: 'es' | 'aoss';
        region: string;
        accessKeyId: string;
        /** With it, the signature itself is recomputed and compared, as the service does. */
        secretAccessKey?: string;
      };
    };

export interface OpenSearchFakeOptions {
  /** Body size limit, like `http.max_content_length` (100 MB on a cluster, 10 MiB on small AWS domains). */
  maxBodyBytes?: number;
  auth?: FakeAuth;
  /** `ids` keeps only ids (benchmarks); `full` keeps every source for reading back. */
  store?: 'full' | 'ids';
  /**
   * `elasticsearch` answers as an Elasticsearch 8 node does to a client asking for REST API
   * compatibility: `X-Elastic-Product` and a vendor JSON content type.
   */
  flavor?: 'opensearch' | 'elasticsearch';
}

export interface StoredDoc {
  index: string;
  id: string;
  source: Record<string, unknown>;
  version: number;
  /** Order in which the cluster stored it. */
  seq: number;
}

interface ItemFault {
  remaining: number;
  status: 429 | 500 | 503;
  match?: (id: string, source: Record<string, unknown>) => boolean;
}

type FieldType = 'long' | 'float' | 'boolean' | 'text' | 'date' | 'object' | 'keyword' | 'ip';

interface IndexState {
  uuid: string;
  docs: Map<string, StoredDoc | number>;
  mapping: Map<string, FieldType>;
  dataStream: boolean;
}

interface Template {
  index_patterns: string[];
  data_stream?: object;
  priority?: number;
  template?: { mappings?: { properties?: Record<string, unknown> }; settings?: unknown };
}

const ACTIONS = new Set(['index', 'create', 'update', 'delete']);
const SHARDS = { total: 2, successful: 1, failed: 0 };

export class OpenSearchFake {
  readonly indices = new Map<string, IndexState>();
  readonly templates = new Map<string, Template>();
  /** Every request received: method, path, status answered, body bytes, headers of interest. */
  readonly requests: {
    method: string;
    path: string;
    status: number;
    bytes: number;
    contentType?: string;
    authorization?: string;
  }[] = [];
  /** `up`, `unavailable` (503 on everything) or `refusing` (the port is closed: connection refused). */
  private mode: 'up' | 'unavailable' = 'up';
  private itemFaults: ItemFault[] = [];
  private bulkFaults: ItemFault[] = [];
  private requestFault: ItemFault | undefined;
  private rejection: { ratio: number; until: number; acc: number } | undefined;
  private delayMs = 0;
  private hangNext = 0;
  private seqNo = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private portNo = 0;
  private readonly maxBodyBytes: number;
  /** Items answered per status, across all bulk requests. */
  readonly itemStatuses = new Map<number, number>();

  constructor(private readonly opts: OpenSearchFakeOptions = {}) {
    this.maxBodyBytes = opts.maxBodyBytes ?? 100 * 1024 * 1024;
  }

  get port(): number {
    return this.portNo;
  }
  get url(): string {
    return `http://127.0.0.1:${this.portNo}`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.portNo = (server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  // ---- faults -------------------------------------------------------------------------------

  /** The cluster goes away: `refusing` closes the port, `unavailable` answers 503 to everything. */
  async down(how: 'refusing' | 'unavailable' = 'refusing'): Promise<void> {
    if (how === 'unavailable') this.mode = 'unavailable';
    else await this.stop();
  }

  /** The cluster is back, on the same port. */
  async up(): Promise<void> {
    this.mode = 'up';
    if (!this.server) await this.start(this.portNo);
  }

  /** Rejects `ratio` of items with 429 es_rejected_execution_exception for `forMs`, evenly spread. */
  rejectItems(ratio: number, forMs: number): void {
    this.rejection = { ratio, until: Date.now() + forMs, acc: 0 };
  }

  /** The next `times` items (matching `match`, if given) fail with `status`. */
  failItems(times: number, status: 429 | 500 | 503 = 429, match?: ItemFault['match']): void {
    this.itemFaults.push({ remaining: times, status, match });
  }

  /** In each of the next `times` bulk requests, every item (matching `match`, if given) fails with `status`. */
  failBulks(times: number, status: 429 | 500 | 503 = 429, match?: ItemFault['match']): void {
    this.bulkFaults.push({ remaining: times, status, match });
  }

  /** Every request is answered after `ms`. */
  slowDown(ms: number): void {
    this.delayMs = ms;
  }

  /**
   * The next `times` bulk requests are applied but never answered: the sender waits until the
   * connection dies (`down()` or `stop()`), as when a process is killed after the cluster took
   * its data but before it heard back.
   */
  applyThenHang(times = 1): void {
    this.hangNext = times;
  }

  // ---- reading back ------------------------------------------------------------------------

  /** Documents in the order they were first stored (ids only with store: 'ids'). */
  docs(indexPrefix = ''): StoredDoc[] {
    const all: StoredDoc[] = [];
    for (const [name, idx] of this.indices) {
      if (!name.startsWith(indexPrefix)) continue;
      for (const [id, d] of idx.docs)
        all.push(typeof d === 'number' ? { index: name, id, source: {}, version: 1, seq: d } : d);
    }
    return all.sort((a, b) => a.seq - b.seq);
  }

  count(): number {
    let n = 0;
    for (const idx of this.indices.values()) n += idx.docs.size;
    return n;
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const rec = {
      method: req.method ?? 'GET',
      path,
      status: 0,
      bytes: 0,
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
    };
    this.requests.push(rec);
    const send = (status: number, body: unknown): undefined => {
      rec.status = status;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const go = () => {
        res.writeHead(status, {
          ...(this.opts.flavor === 'elasticsearch'
            ? {
                'content-type': 'application/vnd.elasticsearch+json;compatible-with=8',
                'x-elastic-product': 'Elasticsearch',
              }
            : { 'content-type': 'application/json; charset=UTF-8' }),
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (this.delayMs > 0) setTimeout(go, this.delayMs);
      else go();
    };

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBodyBytes) {
      // OpenSearch refuses before reading; the body is drained so the connection can be reused.
      req.resume();
      req.on('end', () => send(413, ''));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size <= this.maxBodyBytes) chunks.push(c as Buffer);
    }
    rec.bytes = size;
    if (size > this.maxBodyBytes) return send(413, '');
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);

    if (this.mode === 'unavailable')
      return send(503, topError('unavailable', 'cluster is not available', 503));
    const authProblem = this.checkAuth(req, body);
    if (authProblem) return send(authProblem.status, authProblem.body);

    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const m = /^\/(?:([^/_][^/]*)\/)?_bulk$/.exec(path);
    if (m && (req.method === 'POST' || req.method === 'PUT')) {
      const r = this.bulk(req, body, m[1] ? decodeURIComponent(m[1]) : undefined, query);
      if (this.hangNext > 0 && r.status === 200) {
        this.hangNext--;
        rec.status = -1;
        return;
      }
      return send(r.status, r.body);
    }
    const t = /^\/_index_template\/([^/]+)$/.exec(path);
    if (t) return this.templateApi(req.method ?? 'GET', decodeURIComponent(t[1]!), body, send);
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD'))
      return send(200, {
        name: 'fake-node',
        cluster_name: 'logferry-fake',
        ...(this.opts.flavor === 'elasticsearch'
          ? { version: { number: '8.15.0', build_flavor: 'default' }, tagline: 'You Know, for Search' }
          : {
              version: { distribution: 'opensearch', number: '2.17.0' },
              tagline: 'The OpenSearch Project: https://opensearch.org/',
            }),
      });
    return send(
      400,
      topError(
        'illegal_argument_exception',
        `no handler found for uri [${path}] and method [${req.method}]`,
        400,
      ),
    );
  }

  private checkAuth(req: IncomingMessage, body: Buffer): { status: number; body: unknown } | undefined {
    const a = this.opts.auth;
    if (!a) return undefined;
    const header = req.headers.authorization ?? '';
    const denied = (why: string) => ({ status: 401, body: topError('security_exception', why, 401) });
    if ('basic' in a) {
      const want = `Basic ${Buffer.from(`${a.basic.username}:${a.basic.password}`).toString('base64')}`;
      if (!header) return denied(`missing authentication credentials for REST request [${req.url}]`);
      return header === want ? undefined : denied(`unable to authenticate user [${a.basic.username}]`);
    }
    if ('apiKey' in a) {
      if (!header) return denied(`missing authentication credentials for REST request [${req.url}]`);
      return header === `ApiKey ${a.apiKey}`
        ? undefined
        : denied('unable to authenticate with provided API key');
    }
    // SigV4: the gateway in front of Amazon OpenSearch Service answers 403 with {"message": …}.
    const forbidden = (message: string) => ({ status: 403, body: { message } });
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        header,
      );
    if (!m) return forbidden('Missing Authentication Token');
    const [, akid, day, region, service, signed, signature] = m;
    if (akid !== a.sigv4.accessKeyId)
      return forbidden('The security token included in the request is invalid.');
    if (region !== a.sigv4.region || service !== a.sigv4.service)
      return forbidden(`Credential should be scoped to correct service: '${a.sigv4.service}'.`);
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== day)
      return forbidden(
        'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP',
      );
    const headers = signed!.split(';');
    if (!headers.includes('host') || !headers.includes('x-amz-date'))
      return forbidden('Signed headers must include host and x-amz-date');
    const bodyHash = createHash('sha256').update(body).digest('hex');
    if (req.headers['x-amz-content-sha256'] !== bodyHash)
      return forbidden(
        'The request signature we calculated does not match the signature you provided (body hash differs).',
      );
    const secret = a.sigv4.secretAccessKey;
    if (secret) {
      const expected = sigv4Signature(
        req,
        headers,
        bodyHash,
        amzDate,
        `${day}/${region}/${service}/aws4_request`,
        secret,
      );
      if (expected !== signature)
        return forbidden(
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
        );
    }
    return undefined;
  }

  private templateApi(
    method: string,
    name: string,
    body: Buffer,
    send: (status: number, body: unknown) => undefined,
  ): undefined {
    if (method === 'GET') {
      const t = this.templates.get(name);
      if (!t)
        return send(
          404,
          topError('resource_not_found_exception', `index template matching [${name}] not found`, 404),
        );
      return send(200, { index_templates: [{ name, index_template: t }] });
    }
    if (method !== 'PUT' && method !== 'POST') return send(405, topError('method_not_allowed', method, 405));
    let t: Template;
    try {
      t = JSON.parse(body.toString('utf8')) as Template;
    } catch {
      return send(400, topError('parse_exception', 'request body is required or is not JSON', 400));
    }
    if (!Array.isArray(t.index_patterns) || t.index_patterns.length === 0)
      return send(
        400,
        topError(
          'action_request_validation_exception',
          'Validation Failed: 1: index patterns are missing;',
          400,
        ),
      );
    this.templates.set(name, t);
    return send(200, { acknowledged: true });
  }

  // ---- _bulk --------------------------------------------------------------------------------

  private bulk(
    req: IncomingMessage,
    body: Buffer,
    pathIndex: string | undefined,
    query: URLSearchParams,
  ): { status: number; body: unknown } {
    const refused = bulkRequestProblem(req, body);
    if (refused) return refused;
    const started = Date.now();
    this.requestFault = this.bulkFaults.find((f) => f.remaining > 0);
    if (this.requestFault) this.requestFault.remaining--;
    this.bulkFaults = this.bulkFaults.filter((f) => f.remaining > 0);
    const items: Record<string, unknown>[] = [];
    let errors = false;
    const lines = new BulkLines(body.toString('utf8'));
    for (;;) {
      const actionLine = lines.next();
      if (actionLine === undefined) break;
      if (actionLine.trim() === '') continue;
      const action = parseBulkAction(actionLine, lines.lineNo, pathIndex);
      if ('status' in action) return action;
      let sourceLine: string | undefined;
      if (action.op !== 'delete') {
        sourceLine = lines.next();
        if (sourceLine === undefined) return unterminatedBulk();
      }
      const item: { status: number; error?: unknown } = this.applyItem(
        action.op,
        action.index,
        action.meta._id as string | undefined,
        sourceLine,
      );
      if (item.error) errors = true;
      this.itemStatuses.set(item.status, (this.itemStatuses.get(item.status) ?? 0) + 1);
      items.push({ [action.op]: item });
    }
    const full = { took: Date.now() - started, errors, items };
    const filter = query.get('filter_path');
    return { status: 200, body: filter ? filterPath(full, filter.split(',')) : full };
  }

  private applyItem(op: string, index: string, id: string | undefined, sourceLine: string | undefined) {
    const base = { _index: index, _id: id ?? null };
    const reject = this.nextFault(id ?? '', sourceLine);
    if (reject) return { ...base, status: reject.status, error: reject.error };
    if (!/^[a-z0-9][^\\/*?"<>| ,#:A-Z]*$/.test(index) || index.length > 255)
      return {
        ...base,
        status: 400,
        error: {
          type: 'invalid_index_name_exception',
          reason: `Invalid index name [${index}], must be lowercase`,
          index,
          index_uuid: '_na_',
        },
      };
    const idx = this.indexState(index);
    if (op === 'delete') {
      const had = id !== undefined && idx.docs.delete(id);
      return {
        ...base,
        _version: 1,
        result: had ? 'deleted' : 'not_found',
        _shards: SHARDS,
        status: had ? 200 : 404,
      };
    }
    if (idx.dataStream && op !== 'create')
      return {
        ...base,
        status: 400,
        error: {
          type: 'illegal_argument_exception',
          reason: `only write ops with an op_type of create are allowed in data streams`,
        },
      };
    let source: Record<string, unknown>;
    try {
      source = JSON.parse(sourceLine!);
      if (!source || typeof source !== 'object' || Array.isArray(source)) throw new Error('not an object');
    } catch (e) {
      return {
        ...base,
        status: 400,
        error: {
          type: 'mapper_parsing_exception',
          reason: 'failed to parse',
          caused_by: { type: 'not_x_content_exception', reason: (e as Error).message.slice(0, 80) },
        },
      };
    }
    if (op === 'update') {
      return {
        ...base,
        status: 400,
        error: { type: 'action_request_validation_exception', reason: 'update is not supported by the fake' },
      };
    }
    const docId =
      id ??
      createHash('sha1')
        .update(String(++this.seqNo))
        .digest('base64url')
        .slice(0, 20);
    const existing = idx.docs.get(docId);
    if (existing !== undefined && op === 'create') {
      const v = typeof existing === 'number' ? 1 : existing.version;
      return {
        ...base,
        _id: docId,
        status: 409,
        error: {
          type: 'version_conflict_engine_exception',
          reason: `[${docId}]: version conflict, document already exists (current version [${v}])`,
          index,
          shard: '0',
          index_uuid: idx.uuid,
        },
      };
    }
    if (idx.dataStream && typeof source['@timestamp'] !== 'string')
      return {
        ...base,
        status: 400,
        error: {
          type: 'mapper_parsing_exception',
          reason: 'failed to parse',
          caused_by: {
            type: 'illegal_argument_exception',
            reason: 'data stream timestamp field [@timestamp] is missing',
          },
        },
      };
    const mappingError = checkMapping(idx.mapping, source, '', docId);
    if (mappingError) return { ...base, _id: docId, status: 400, error: mappingError };
    const version = existing === undefined ? 1 : (typeof existing === 'number' ? 1 : existing.version) + 1;
    const seq = ++this.seqNo;
    if (existing !== undefined) idx.docs.delete(docId); // an overwrite counts as stored now
    idx.docs.set(docId, this.opts.store === 'ids' ? seq : { index, id: docId, source, version, seq });
    return {
      ...base,
      _id: docId,
      _version: version,
      result: existing === undefined ? 'created' : 'updated',
      _shards: SHARDS,
      _seq_no: seq,
      _primary_term: 1,
      status: existing === undefined ? 201 : 200,
    };
  }

  private nextFault(id: string, sourceLine: string | undefined) {
    const r = this.rejection;
    if (r && Date.now() < r.until) {
      r.acc = Math.round((r.acc + r.ratio) * 1e9) / 1e9;
      if (r.acc >= 1) {
        r.acc -= 1;
        return { status: 429, error: rejectedExecution() };
      }
    }
    if (this.itemFaults.length === 0 && !this.requestFault) return undefined;
    let source: Record<string, unknown> | undefined;
    const candidates = this.requestFault ? [this.requestFault, ...this.itemFaults] : this.itemFaults;
    for (const f of candidates) {
      if (f !== this.requestFault && f.remaining <= 0) continue;
      if (f.match) {
        try {
          source ??= JSON.parse(sourceLine ?? '{}');
        } catch {
          source = {};
        }
        if (!f.match(id, source!)) continue;
      }
      if (f !== this.requestFault) {
        f.remaining--;
        this.itemFaults = this.itemFaults.filter((x) => x.remaining > 0);
      }
      return f.status === 429
        ? { status: 429, error: rejectedExecution() }
        : {
            status: f.status,
            error: {
              type: f.status === 503 ? 'unavailable_shards_exception' : 'exception',
              reason:
                f.status === 503
                  ? '[logs][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest]'
                  : 'internal error',
            },
          };
    }
    return undefined;
  }

  private indexState(index: string): IndexState {
    let idx = this.indices.get(index);
    if (idx) return idx;
    const mapping = new Map<string, FieldType>();
    let dataStream = false;
    const tpl = [...this.templates.values()]
      .filter((t) => t.index_patterns.some((p) => globMatch(p, index)))
      .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0))[0];
    if (tpl) {
      flattenProperties(tpl.template?.mappings?.properties ?? {}, '', mapping);
      dataStream = tpl.data_stream !== undefined;
    }
    idx = {
      uuid: createHash('md5').update(index).digest('base64url').slice(0, 22),
      docs: new Map(),
      mapping,
      dataStream,
    };
    this.indices.set(index, idx);
    return idx;
  }
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The SigV4 signature of a received request, computed from the AWS specification. */
function sigv4Signature(
  req: IncomingMessage,
  signedHeaders: string[],
  payloadHash: string,
  amzDate: string,
  scope: string,
  secret: string,
): string {
  const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?');
  const path = rawPath
    .split('/')
    .map((seg) => rfc3986(rfc3986(decodeURIComponent(seg))))
    .join('/');
  const query = rawQuery
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const [k = '', v = ''] = kv.split('=');
      const dec = (x: string) => decodeURIComponent(x.replace(/\+/g, ' '));
      return [rfc3986(dec(k)), rfc3986(dec(v))] as const;
    })
    .sort((x, y) => (x[0] === y[0] ? (x[1] < y[1] ? -1 : 1) : x[0] < y[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map(
      (h) =>
        `${h}:${String(req.headers[h] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonical = [req.method, path, query, canonicalHeaders, signedHeaders.join(';'), payloadHash].join(
    '\n',
  );
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key: Buffer = Buffer.from(`AWS4${secret}`);
  for (const part of scope.split('/')) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex');
}

function rejectedExecution() {
  return {
    type: 'es_rejected_execution_exception',
    reason:
      'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=53687091]',
  };
}

export function topError(type: string, reason: string, status: number) {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

function flattenProperties(
  props: Record<string, unknown>,
  prefix: string,
  out: Map<string, FieldType>,
): void {
  for (const [k, v] of Object.entries(props)) {
    const def = v as { type?: FieldType; properties?: Record<string, unknown> };
    const path = prefix ? `${prefix}.${k}` : k;
    if (def.properties) {
      out.set(path, 'object');
      flattenProperties(def.properties, path, out);
    } else if (def.type) out.set(path, def.type);
  }
}

const DATE_LIKE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

function typeOf(v: unknown): FieldType | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'float';
  if (typeof v === 'string') return DATE_LIKE.test(v) ? 'date' : 'text';
  if (Array.isArray(v)) return typeOf(v.find((x) => x !== null && x !== undefined));
  return 'object';
}

/**
 * Dynamic mapping as OpenSearch does it: a field's first value fixes its type; a later value
 * that cannot be read as that type is a mapper_parsing_exception for that document only.
 */
function checkMapping(
  mapping: Map<string, FieldType>,
  doc: Record<string, unknown>,
  prefix: string,
  id: string,
): Record<string, unknown> | undefined {
  for (const k in doc) {
    const v = doc[k];
    const path = prefix ? `${prefix}.${k}` : k;
    const seen = typeOf(v);
    if (seen === undefined) continue;
    const known = mapping.get(path);
    if (known === undefined) {
      mapping.set(path, seen);
    } else if (!compatible(known, seen, v)) {
      if (known === 'object')
        return {
          type: 'mapper_parsing_exception',
          reason: `object mapping for [${path}] tried to parse field [${k}] as object, but found a concrete value`,
        };
      if (seen === 'object')
        return {
          type: 'mapper_parsing_exception',
          reason: `failed to parse field [${path}] of type [${known}] in document with id '${id}'. Preview of field's value: '${JSON.stringify(v).slice(0, 40)}'`,
          caused_by: {
            type: 'illegal_state_exception',
            reason: `Can't get text on a START_OBJECT at 1:${k.length + 4}`,
          },
        };
      return {
        type: 'mapper_parsing_exception',
        reason: `failed to parse field [${path}] of type [${known}] in document with id '${id}'. Preview of field's value: '${String(v).slice(0, 40)}'`,
        caused_by: {
          type: 'illegal_argument_exception',
          reason: `For input string: "${String(v).slice(0, 40)}"`,
        },
      };
    }
    if (seen === 'object' && !Array.isArray(v)) {
      const inner = checkMapping(mapping, v as Record<string, unknown>, path, id);
      if (inner) return inner;
    }
  }
  return undefined;
}

function compatible(known: FieldType, seen: FieldType, v: unknown): boolean {
  if (known === seen) return true;
  if (known === 'object' || seen === 'object') return false;
  if (known === 'text' || known === 'keyword') return true; // numbers and booleans coerce to strings
  if (known === 'float') return seen === 'long' || (seen === 'text' && Number.isFinite(Number(v)));
  if (known === 'long') return seen === 'text' && /^-?\d+$/.test(String(v));
  if (known === 'date') return seen === 'long';
  if (known === 'ip') return seen === 'text';
  if (known === 'boolean') return v === 'true' || v === 'false';
  return false;
}

/** `filter_path` as OpenSearch applies it: dotted paths with `*` for any key; arrays pass through. */
export function filterPath(value: unknown, paths: string[]): unknown {
  const split = paths.map((p) => p.trim().split('.')).filter((p) => p.length > 0 && p[0] !== '');
  return filterValue(value, split);
}

function filterValue(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) {
    const out = value.map((v) => filterValue(v, paths)).filter((v) => v !== undefined);
    return out.length ? out : undefined;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [k, v] of Object.entries(value)) {
    const rest: string[][] = [];
    let whole = false;
    for (const p of paths) {
      if (p[0] !== k && p[0] !== '*') continue;
      if (p.length === 1) whole = true;
      else rest.push(p.slice(1));
    }
    if (whole) {
      out[k] = v;
      any = true;
    } else if (rest.length) {
      const f = filterValue(v, rest);
      if (f !== undefined) {
        out[k] = f;
        any = true;
      }
    }
  }
  return any ? out : undefined;
}

// ---- _bulk request parsing, as OpenSearch answers malformed requests ---------------------------

type BulkAnswer = { status: number; body: unknown };

const BULK_META_KEYS = [
  '_index',
  '_id',
  'routing',
  'pipeline',
  'require_alias',
  'if_seq_no',
  'if_primary_term',
  'version',
  'version_type',
];

function unterminatedBulk(): BulkAnswer {
  return {
    status: 400,
    body: topError(
      'illegal_argument_exception',
      'The bulk request must be terminated by a newline [\\n]',
      400,
    ),
  };
}

/** The content type and framing OpenSearch checks before reading a single line. */
function bulkRequestProblem(req: IncomingMessage, body: Buffer): BulkAnswer | undefined {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/(x-ndjson|json|vnd\.opensearch\+x-ndjson|vnd\.opensearch\+json)\b/.test(ct))
    return { status: 406, body: { error: `Content-Type header [${ct}] is not supported`, status: 406 } };
  if (body.length === 0)
    return { status: 400, body: topError('parse_exception', 'request body is required', 400) };
  if (body[body.length - 1] !== 0x0a) return unterminatedBulk();
  return undefined;
}

/** The body's lines one at a time, counting them for error messages (1-based, as OpenSearch does). */
class BulkLines {
  private pos = 0;
  lineNo = 0;
  constructor(private readonly text: string) {}
  next(): string | undefined {
    if (this.pos >= this.text.length) return undefined;
    const nl = this.text.indexOf('\n', this.pos);
    const line = this.text.slice(this.pos, nl);
    this.pos = nl + 1;
    this.lineNo++;
    return line;
  }
}

/** One action/metadata line: its operation, metadata and target index, or OpenSearch's refusal. */
function parseBulkAction(
  line: string,
  lineNo: number,
  pathIndex: string | undefined,
): { op: string; meta: Record<string, unknown>; index: string } | BulkAnswer {
  let action: Record<string, Record<string, unknown>>;
  try {
    action = JSON.parse(line);
  } catch {
    return {
      status: 400,
      body: topError('x_content_parse_exception', `[${lineNo}:1] Malformed action/metadata line`, 400),
    };
  }
  const keys = action && typeof action === 'object' ? Object.keys(action) : [];
  const op = keys[0];
  if (keys.length !== 1 || !op || !ACTIONS.has(op))
    return {
      status: 400,
      body: topError(
        'illegal_argument_exception',
        `Malformed action/metadata line [${lineNo}], expected one of [create, delete, index, update] but found [${op}]`,
        400,
      ),
    };
  const meta = action[op] ?? {};
  const unknown = Object.keys(meta).find((k) => !BULK_META_KEYS.includes(k));
  if (unknown !== undefined)
    return {
      status: 400,
      body: topError(
        'illegal_argument_exception',
        `Action/metadata line [${lineNo}] contains an unknown parameter [${unknown}]`,
        400,
      ),
    };
  const index = (meta._index as string | undefined) ?? pathIndex;
  if (!index)
    return {
      status: 400,
      body: topError('action_request_validation_exception', 'Validation Failed: 1: index is missing;', 400),
    };
  return { op, meta, index };
}
