import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { resolveSecret, type Secret } from '../../config/secrets.js';
import type { Batch, BatchResult, RawItem } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Source, SourceContext } from '../../core/component.js';
import type { Deps } from '../../core/contracts.js';
import { describeError, oneLine, SourceError } from '../../core/errors.js';
import { contentHash } from '../../core/ids.js';
import type { Metrics } from '../../core/metrics.js';
import {
  bearerToken,
  commonAttributes,
  type FirehoseRequest,
  header,
  IntakeRequestError,
  parseFirehoseBody,
  readBody,
  safeId,
  secretMatches,
  streamName,
} from './protocol.js';
import { type HttpIntakeSourceConfig, splitListen } from './schema.js';

export interface IntakeSecrets {
  accessKey?: Secret;
  token?: Secret;
}

type Endpoint = 'firehose' | 'ingest';

/** How one request ended: the status, the JSON body, and headers (Retry-After) to send. */
interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/**
 * An HTTP source: Firehose's HTTP endpoint delivery protocol and plain NDJSON posts. A request is
 * answered 200 only once every sink has its events (or the dead-letter store has what could not
 * be read); anything else gets a status that makes the sender retry. A bounded number of
 * requests is in the pipeline at once; the rest are told to come back (429, Retry-After).
 */
export class HttpIntakeSource implements Source {
  readonly name: string;
  private inFlight = 0;
  private draining = false;
  private idle: (() => void) | undefined;
  private readonly counts = { accepted: 0, busy: 0, refused: 0, failed: 0 };
  /** The port actually bound (differs from the config's when it asks for port 0). */
  port = 0;
  private markListening!: (port: number) => void;
  /** Resolves with the bound port once the server accepts requests. */
  readonly listening = new Promise<number>((r) => {
    this.markListening = r;
  });

  constructor(
    private readonly cfg: HttpIntakeSourceConfig,
    private readonly secrets: IntakeSecrets = {},
    private readonly metrics?: Metrics,
  ) {
    this.name = cfg.name;
  }

  status() {
    return {
      listen: this.cfg.listen,
      port: this.port,
      endpoints: [this.cfg.firehose?.path, this.cfg.ingest?.path].filter(Boolean),
      requests_in_flight: this.inFlight,
      requests_accepted: this.counts.accepted,
      requests_busy: this.counts.busy,
      requests_refused: this.counts.refused,
      requests_failed: this.counts.failed,
    };
  }

  async run(ctx: SourceContext): Promise<void> {
    if (ctx.signal.aborted) return;
    const { host, port } = splitListen(this.cfg.listen);
    const server = createServer({
      requestTimeout: this.cfg.request_timeout,
      headersTimeout: Math.min(20_000, this.cfg.request_timeout),
    });
    // Each connection holds a socket and parser state whether or not it sends anything.
    server.maxConnections = this.cfg.max_connections;
    server.on('request', (req, res) => {
      this.onRequest(req, res, ctx).catch((e: unknown) => {
        ctx.log.error({ source: this.name }, `intake ${this.name}: ${describeError(e)}`);
        if (!res.headersSent) send(res, { status: 500, body: { error: 'internal error' } });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const refused = (e: NodeJS.ErrnoException) =>
        // Retryable: a port still held by a process that is stopping frees up; the runner backs off.
        reject(
          new SourceError(`cannot listen on ${this.cfg.listen}: ${e.code ?? e.message}`, {
            retryable: true,
            cause: e,
          }),
        );
      server.once('error', refused);
      server.listen(port, host, () => {
        server.off('error', refused);
        resolve();
      });
    });
    this.port = (server.address() as { port: number }).port;
    this.markListening(this.port);
    ctx.log.info({ source: this.name, listen: `${host}:${this.port}` }, `intake ${this.name} listening`);
    await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
    await this.drain(server);
  }

  /** Stops taking requests (new ones get 503) and waits for those in the pipeline to be answered. */
  private async drain(server: Server): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    if (this.inFlight > 0)
      await new Promise<void>((r) => {
        this.idle = r;
      });
    server.closeAllConnections();
    await closed;
  }

  private endpointFor(path: string): Endpoint | undefined {
    if (this.cfg.firehose && path === this.cfg.firehose.path) return 'firehose';
    if (this.cfg.ingest && path === this.cfg.ingest.path) return 'ingest';
    return undefined;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse, ctx: SourceContext): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const endpoint = this.endpointFor(path);
    if (!endpoint) return send(res, { status: 404, body: { error: 'not found' } });
    if (req.method !== 'POST')
      return send(res, { status: 405, body: { error: 'use POST' }, headers: { allow: 'POST' } });
    const reply =
      endpoint === 'firehose' ? await this.firehose(req, res, ctx) : await this.ingest(req, res, ctx);
    this.count(endpoint, reply.status);
    send(res, reply);
  }

  private count(endpoint: Endpoint, status: number): void {
    if (status === 200) this.counts.accepted++;
    else if (status === 429 || status === 503) this.counts.busy++;
    else if (status >= 500) this.counts.failed++;
    else this.counts.refused++;
    this.metrics?.inc(
      'logferry_intake_requests_total',
      { source: this.name, endpoint, status: String(status) },
      1,
      'HTTP intake requests by answer',
    );
  }

  private async firehose(req: IncomingMessage, res: ServerResponse, ctx: SourceContext): Promise<Reply> {
    let requestId = safeId(header(req, 'x-amz-firehose-request-id')) ?? '';
    // Firehose expects this shape for every answer, errors included, with its request id echoed.
    const answer = (status: number, errorMessage?: string, headers?: Record<string, string>): Reply => ({
      status,
      body: { requestId, timestamp: Date.now(), ...(errorMessage ? { errorMessage } : {}) },
      headers,
    });
    if (
      this.secrets.accessKey &&
      !secretMatches(header(req, 'x-amz-firehose-access-key'), this.secrets.accessKey)
    ) {
      this.refuse(ctx, 'firehose', requestId, 'access key is missing or wrong');
      return answer(401, 'access key is missing or wrong');
    }
    const busy = this.admit(res);
    if (busy) return answer(busy.status, busy.message, this.retryAfter());
    try {
      const attrs = commonAttributes(header(req, 'x-amz-firehose-common-attributes'));
      const stream = streamName(header(req, 'x-amz-firehose-source-arn')) ?? 'firehose';
      const body = parseFirehoseBody(await readBody(req, this.bodyLimits()));
      requestId ||= body.requestId;
      const result = await ctx.process(this.firehoseBatch(body, requestId, stream, attrs));
      const failed = notDelivered(result);
      if (failed) {
        ctx.log.warn({ source: this.name, request_id: requestId }, `intake ${this.name}: ${failed.detail}`);
        return answer(500, failed.summary, this.retryAfter());
      }
      return answer(200);
    } catch (e) {
      const err = this.requestError(e, ctx, 'firehose', requestId);
      return answer(err.status, err.message, err.status >= 500 ? this.retryAfter() : undefined);
    }
  }

  private firehoseBatch(
    body: FirehoseRequest,
    requestId: string,
    stream: string,
    attrs: Record<string, string>,
  ): Batch {
    const items: RawItem[] = body.records.map((r, i) => ({
      ackId: `${requestId}/${i}`,
      // Firehose keeps the request id across retries of a request, so the ref (and with it the
      // ids of events that have no id of their own) is the same on every retry.
      origin: {
        source: this.name,
        type: 'firehose_http',
        ref: `${stream}/${requestId}/${i}`,
        attrs: { stream, request_id: requestId, record: i, ...prefixed(attrs) },
      },
      body: { kind: 'base64', text: r.data },
    }));
    return { source: this.name, items };
  }

  private async ingest(req: IncomingMessage, res: ServerResponse, ctx: SourceContext): Promise<Reply> {
    const given = safeId(header(req, 'idempotency-key')) ?? safeId(header(req, 'x-request-id'));
    if (this.secrets.token && !secretMatches(bearerToken(header(req, 'authorization')), this.secrets.token)) {
      this.refuse(ctx, 'ingest', given ?? '', 'bearer token is missing or wrong');
      return {
        status: 401,
        body: { error: 'bearer token is missing or wrong' },
        headers: { 'www-authenticate': 'Bearer' },
      };
    }
    const busy = this.admit(res);
    if (busy) return { status: busy.status, body: { error: busy.message }, headers: this.retryAfter() };
    try {
      const body = await readBody(req, this.bodyLimits());
      // Without a key from the sender, the content names the request, so a resend of the same
      // body makes the same events (same ids) instead of duplicates.
      const key = given ?? contentHash(body);
      const result = await ctx.process(this.ingestBatch(body, key));
      const failed = notDelivered(result);
      if (failed) {
        ctx.log.warn({ source: this.name, request_id: key }, `intake ${this.name}: ${failed.detail}`);
        return { status: 500, body: { error: failed.summary }, headers: this.retryAfter() };
      }
      const r = result.items[0]!;
      return {
        status: 200,
        body: {
          request_id: key,
          status: r.status,
          events: r.events,
          rejected: r.rejected ?? 0,
          ...(r.status === 'dead-lettered' && r.error ? { error: r.error } : {}),
        },
      };
    } catch (e) {
      const err = this.requestError(e, ctx, 'ingest', given ?? '');
      return {
        status: err.status,
        body: { error: err.message },
        headers: err.status >= 500 ? this.retryAfter() : undefined,
      };
    }
  }

  private ingestBatch(body: Buffer, key: string): Batch {
    return {
      source: this.name,
      items: [
        {
          ackId: key,
          origin: {
            source: this.name,
            type: 'http',
            ref: `${this.cfg.ingest!.path}/${key}`,
            attrs: { request_id: key, bytes: body.length },
          },
          // As a stream, so the parser reads it line by line (each line capped) like a file.
          body: { kind: 'stream', open: async () => Readable.from([body]), size: body.length },
        },
      ],
    };
  }

  /**
   * Takes a place in the pipeline, or says why there is none. The place is held until the
   * answer has been written out, so a drain never cuts a finished request's answer off.
   */
  private admit(res: ServerResponse): { status: number; message: string } | undefined {
    if (this.draining) return { status: 503, message: 'shutting down; send again later' };
    if (this.inFlight >= this.cfg.max_concurrent)
      return { status: 429, message: `${this.inFlight} requests in progress; send again later` };
    this.inFlight++;
    res.once('close', () => this.release());
    return undefined;
  }

  private release(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.idle?.();
  }

  private retryAfter(): Record<string, string> {
    return { 'retry-after': String(this.cfg.retry_after) };
  }

  private bodyLimits() {
    return { maxBodyBytes: this.cfg.max_body_bytes, maxDecodedBytes: this.cfg.max_decoded_bytes };
  }

  private requestError(
    e: unknown,
    ctx: SourceContext,
    endpoint: Endpoint,
    requestId: string,
  ): IntakeRequestError {
    if (e instanceof IntakeRequestError) {
      this.refuse(ctx, endpoint, requestId, e.message);
      return e;
    }
    // A sender that hung up mid-body, or a fault of ours: either way nothing was acknowledged.
    const line = describeError(e);
    ctx.log.warn({ source: this.name, request_id: requestId }, `intake ${this.name} ${endpoint}: ${line}`);
    return new IntakeRequestError(500, 'the request could not be read to its end', { cause: e });
  }

  private refuse(ctx: SourceContext, endpoint: Endpoint, requestId: string, why: string): void {
    ctx.log.warn(
      { source: this.name, endpoint, request_id: requestId || undefined },
      `intake ${this.name} ${endpoint} refused a request: ${why}`,
    );
  }
}

/**
 * Why a batch cannot be acknowledged, or undefined when every item was delivered or
 * dead-lettered. The sender gets the summary; the detail (which sink, what it said) names
 * internals and goes only to the log.
 */
function notDelivered(result: BatchResult): { summary: string; detail: string } | undefined {
  const failed = result.items.filter((r) => !isAcked(r));
  if (failed.length === 0) return undefined;
  const summary = `${failed.length} of ${result.items.length} records not delivered yet; send the request again later`;
  return { summary, detail: oneLine(`${summary}: ${failed[0]!.error ?? 'delivery failed'}`, 1000) };
}

function prefixed(attrs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`attr.${k}`, v]));
}

function send(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...(reply.headers ?? {}),
  };
  // A refused request may still be sending its body: close rather than read it to the end.
  if (reply.status !== 200) headers.connection = 'close';
  res.writeHead(reply.status, headers);
  res.end(text);
}

export async function create(cfg: HttpIntakeSourceConfig, deps: Deps): Promise<Source> {
  const secrets: IntakeSecrets = {
    accessKey:
      cfg.firehose?.access_key === undefined ? undefined : await resolveSecret(cfg.firehose.access_key),
    token: cfg.ingest?.token === undefined ? undefined : await resolveSecret(cfg.ingest.token),
  };
  return new HttpIntakeSource(cfg, secrets, deps.metrics);
}
