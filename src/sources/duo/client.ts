import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import duoSig from '@duosecurity/duo_api/lib/duo_sig.js';
import type { Secret } from '../../config/secrets.js';
import type { Logger } from '../../core/component.js';
import { jsonErrorReason, SourceError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';
import { parseJsonBytes, parseListItems } from '../../formats/json_pieces.js';
import { LineBufferPool } from '../../formats/line_buffer.js';

export interface DuoRetryOptions {
  /** HTTP 429 answers retried before giving up. */
  maxRateLimited: number;
  /** 5xx answers, network errors and unreadable bodies retried before giving up. */
  maxErrors: number;
  baseMs: number;
  maxMs: number;
}

export interface DuoClientOptions {
  host: string;
  ikey: string;
  skey: Secret;
  /** Connect here instead of https://host (proxies, the fake server). */
  endpoint?: string;
  retry: DuoRetryOptions;
  timeoutMs: number;
  /** Largest response body read; past it the request is cut off and the log stops. */
  maxResponseBytes?: number;
  log?: Logger;
  now?: () => number;
  random?: () => number;
}

/** Duo answered with an error body or status that retrying will not fix. */
export class DuoApiError extends SourceError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: number | undefined,
    retryable = false,
    cause?: unknown,
  ) {
    super(message, { retryable, cause });
  }
}

/** The body was cut off at the size cap: asking again brings the same oversized answer. */
class ResponseTooLarge extends Error {}

/** A page's events with the text of each as Duo wrote it (see parseListItems). */
export interface PageTexts {
  /** The events' array, as it is in the parsed response. */
  list: unknown[];
  texts: readonly (string | undefined)[];
}

/** An answer's body as JSON, or why it is not. */
export type ParsedBody = { value: unknown; events?: PageTexts } | { error: unknown };

/**
 * The body parsed. Where `list` says where the events are in `response`, each event is parsed
 * from its own text, kept for the documents (Duo's bytes, not a JSON.stringify of them); a page
 * not laid out so is parsed in pieces when too large for one string (see fitsOneString), else whole.
 */
export function parseBody(bytes: Buffer, list: readonly string[] | undefined): ParsedBody {
  try {
    if (!list) return { value: JSON.parse(bytes.toString('utf8')) };
    const path = ['response', ...list];
    const items = parseListItems(bytes, path);
    if (items) return { value: items.value, events: { list: items.list, texts: items.texts } };
    return { value: parseJsonBytes(bytes, path) };
  } catch (error) {
    return { error };
  }
}

/** Duo's `response` member of an answer, and its events' texts when the page was read event by event. */
export interface DuoAnswer {
  response: unknown;
  events?: PageTexts;
}

/** 401/403: the credentials, the host or this machine's clock are wrong. Stops the log. */
export class DuoAuthError extends DuoApiError {}

export interface DuoClientStats {
  requests: number;
  rateLimited: number;
  retried: number;
}

/**
 * Signed GETs against the Duo Admin API. @duosecurity/duo_api signs (canonical request v5);
 * the HTTP is done here because the library's own client pins Duo's CA, retries 429 on its
 * own schedule and reports network errors as a fake JSON body: we need our retries, our
 * deadline and a keep-alive connection instead.
 */
export class DuoClient {
  readonly stats: DuoClientStats = { requests: 0, rateLimited: 0, retried: 0 };
  private readonly target: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly now: () => number;
  private readonly random: () => number;
  /** Answers are read into these: two (the next page is asked for while one is read), kept up to 8 MiB (a page is ~2 MB). */
  private readonly bodies = new LineBufferPool(8 * 1024 * 1024, 2);

  constructor(private readonly opts: DuoClientOptions) {
    this.target = new URL(opts.endpoint ?? `https://${opts.host}`);
    this.agent =
      this.target.protocol === 'http:'
        ? new HttpAgent({ keepAlive: true, maxSockets: 4 })
        : new HttpsAgent({ keepAlive: true, maxSockets: 4 });
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  get ikey(): string {
    return this.opts.ikey;
  }

  /**
   * GET `path` with `params`; returns Duo's `response` member. Retries 429, 5xx and network errors.
   * `list`: where in `response` the page's events are (`['authlogs']`; `[]` when it is the list),
   * so that each event is read from its own text (DuoAnswer.events).
   */
  async get(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
    list?: readonly string[],
  ): Promise<DuoAnswer> {
    let rateLimited = 0;
    let errors = 0;
    const { retry } = this.opts;
    for (;;) {
      let outcome: Outcome;
      try {
        outcome = await this.once(path, params, signal, list);
      } catch (e) {
        if (signal?.aborted) throw new SourceError(`Duo ${path}: stopped`, { cause: e, retryable: true });
        if (e instanceof ResponseTooLarge)
          throw new DuoApiError(`Duo ${path}: ${e.message}`, 200, undefined, false, e);
        outcome = { kind: 'error', message: `network error: ${(e as Error).message}`, cause: e };
      }
      if (outcome.kind === 'ok') return { response: outcome.response, events: outcome.events };
      if (outcome.kind === 'fatal') throw outcome.error;
      let delay: number;
      if (outcome.kind === 'rate-limited') {
        this.stats.rateLimited++;
        if (++rateLimited > retry.maxRateLimited)
          throw new DuoApiError(
            `Duo ${path}: still rate limited (HTTP 429) after ${retry.maxRateLimited} retries`,
            429,
            outcome.code,
            true,
          );
        // Like Duo's own clients: doubling waits plus up to a second of jitter, so many
        // collectors behind one account do not retry in step.
        const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** (rateLimited - 1));
        delay = ceiling + Math.floor(this.random() * Math.min(1000, retry.baseMs));
      } else {
        if (++errors > retry.maxErrors)
          throw new DuoApiError(
            `Duo ${path}: ${outcome.message} (gave up after ${retry.maxErrors} retries)`,
            outcome.status ?? 0,
            undefined,
            true,
            outcome.cause,
          );
        const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** (errors - 1));
        delay = Math.floor(ceiling / 2 + this.random() * (ceiling / 2));
      }
      this.stats.retried++;
      this.opts.log?.debug({ path, delay_ms: delay, kind: outcome.kind }, 'retrying Duo request');
      await sleep(delay, signal);
      if (signal?.aborted) throw new SourceError(`Duo ${path}: stopped`, { retryable: true });
    }
  }

  private async once(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
    list: readonly string[] | undefined,
  ): Promise<Outcome> {
    const date = new Date(this.now()).toUTCString();
    const host = this.opts.host.toLowerCase();
    const authorization = duoSig.signV5(
      this.opts.ikey,
      this.opts.skey.reveal(),
      'GET',
      host,
      path,
      params,
      date,
      '',
    );
    const qs = duoSig._canonParams(params);
    const req = this.target.protocol === 'http:' ? httpRequest : httpsRequest;
    this.stats.requests++;
    const maxBytes = this.opts.maxResponseBytes ?? 32 * 1024 * 1024;
    const { status, json } = await new Promise<{ status: number; json: ParsedBody }>((resolve, reject) => {
      const r = req(
        {
          host: this.target.hostname,
          port: this.target.port || undefined,
          method: 'GET',
          path: qs ? `${path}?${qs}` : path,
          agent: this.agent,
          signal,
          timeout: this.opts.timeoutMs,
          headers: { Date: date, Host: host, Authorization: authorization, 'User-Agent': 'logferry-duo/0.1' },
        },
        (res: IncomingMessage) => {
          // Read into a buffer kept from earlier answers: a page is ~2 MB, and joining its chunks
          // into a new buffer each time faulted in fresh pages for every page.
          const body = this.bodies.take();
          let given = false;
          // After 'end' or at 'close' (an answer cut off), whichever comes first: once only.
          const done = () => {
            if (!given) this.bodies.give(body);
            given = true;
          };
          res.on('data', (c: Buffer) => {
            if (body.size + c.length > maxBytes) {
              r.destroy();
              reject(new ResponseTooLarge(`response is over the ${maxBytes}-byte limit`));
            } else body.addBytes(c);
          });
          res.on('end', () => {
            // Parsed before the buffer goes back for the next answer.
            resolve({ status: res.statusCode ?? 0, json: parseBody(body.bytes(), list) });
            done();
          });
          res.on('error', reject);
          res.on('close', done);
        },
      );
      r.on('timeout', () => r.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
      r.on('error', reject);
      r.end();
    });
    return this.classify(path, status, json);
  }

  /** What a response means for the caller: data, retry (and why), or stop. */
  classify(path: string, status: number, json: ParsedBody): Outcome {
    let parsed: {
      stat?: unknown;
      response?: unknown;
      code?: unknown;
      message?: unknown;
      message_detail?: unknown;
    };
    if ('value' in json) parsed = json.value as typeof parsed;
    else {
      const e = json.error;
      if (status === 429) return { kind: 'rate-limited' };
      if (status >= 500 || status === 0 || (status >= 200 && status < 300))
        return {
          kind: 'error',
          status,
          message: `HTTP ${status} with an unreadable body (${jsonErrorReason(e)})`,
        };
      return {
        kind: 'fatal',
        error: new DuoApiError(`Duo ${path}: HTTP ${status} with an unreadable body`, status, undefined),
      };
    }
    const code = typeof parsed?.code === 'number' ? parsed.code : undefined;
    const what = [code, parsed?.message, parsed?.message_detail].filter((x) => x !== undefined).join(' ');
    if (status >= 200 && status < 300) {
      if (parsed?.stat === 'OK' && parsed.response !== undefined)
        return { kind: 'ok', response: parsed.response, events: json.events };
      return { kind: 'error', status, message: `HTTP ${status} without stat OK (${what || 'no message'})` };
    }
    if (status === 429) return { kind: 'rate-limited', code };
    if (status === 401 || status === 403)
      return {
        kind: 'fatal',
        error: new DuoAuthError(
          `Duo refused integration key ${this.opts.ikey} on ${path} (HTTP ${status}: ${what}); check the ` +
            `integration key, secret key, API host and this machine's clock`,
          status,
          code,
        ),
      };
    if (status >= 500) return { kind: 'error', status, message: `HTTP ${status} ${what}` };
    return { kind: 'fatal', error: new DuoApiError(`Duo ${path}: HTTP ${status} ${what}`, status, code) };
  }

  close(): void {
    this.agent.destroy();
  }
}

type Outcome =
  | { kind: 'ok'; response: unknown; events?: PageTexts }
  | { kind: 'rate-limited'; code?: number }
  | { kind: 'error'; status?: number; message: string; cause?: unknown }
  | { kind: 'fatal'; error: DuoApiError };
