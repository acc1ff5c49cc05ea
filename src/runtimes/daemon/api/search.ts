import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { App } from '../../../app.js';
import { describeError } from '../../../core/errors.js';
import { QueryError, type SearchBackend } from '../../../search/engine.js';
import { MAX_QUERY_CHARS, SearchSyntaxError } from '../../../search/syntax.js';
import { replay } from '../../cli/replay.js';
import type { SourceRunner } from '../supervisor.js';

export interface ApiResponse {
  status: number;
  body: unknown;
}
export type ApiHandler = (req: IncomingMessage, url: URL) => Promise<ApiResponse | undefined>;

const MAX_BODY_BYTES = 64 * 1024;
const MAX_DEAD_LETTERS_LISTED = 200;
const RECENT_ALERTS = 20;

const searchParams = z.object({
  q: z.string().max(MAX_QUERY_CHARS).default(''),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(0).max(500).default(100),
});
const queryBody = z.object({ sql: z.string().min(1).max(20_000) }).strict();
const replayBody = z.object({ id: z.string().min(1).max(200) }).strict();

export class BadRequest extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadRequest';
  }
}

export async function readJson<T>(
  req: IncomingMessage,
  schema: z.ZodType<T>,
  maxBytes = MAX_BODY_BYTES,
): Promise<T> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new BadRequest('send content-type: application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > maxBytes) throw new BadRequest(`request body over ${maxBytes} bytes`);
    chunks.push(c);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new BadRequest('request body is not JSON', { cause: e });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new BadRequest(`request body: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/**
 * The dashboard's API beside the status routes: `GET /api/search`, `POST /api/query` (one
 * SELECT, store only), `GET /api/rates`, `GET /api/alerts`, `GET /api/dead-letters`,
 * `POST /api/dead-letters/replay`. Anything that changes state is a POST with a JSON body.
 */
export function searchApi(app: App, runners: SourceRunner[], backend: SearchBackend | undefined): ApiHandler {
  const noStore = { status: 404, body: { error: 'no local_store or daily_files sink is configured' } };
  const routes: Record<string, (req: IncomingMessage, url: URL) => Promise<ApiResponse>> = {
    'GET /api/search': async (_req, url) => {
      if (!backend) return noStore;
      const p = searchParams.safeParse(Object.fromEntries(url.searchParams));
      if (!p.success)
        throw new BadRequest(`search: ${p.error.issues[0]?.path.join('.')}: ${p.error.issues[0]?.message}`);
      const r = await backend.search({
        query: p.data.q,
        from: p.data.from,
        to: p.data.to,
        limit: p.data.limit,
      });
      return { status: 200, body: { backend: backend.kind, ...r } };
    },
    'POST /api/query': async (req) => {
      const { sql } = await readJson(req, queryBody);
      if (!backend) return noStore;
      return { status: 200, body: await backend.sql(sql) };
    },
    'GET /api/rates': async () => ({
      status: 200,
      body: {
        at: Date.now(),
        sources: app.pipeline.metrics
          .series('logferry_events_total')
          .map((s) => ({ name: s.labels.source, total: s.value })),
        sinks: app.pipeline.metrics
          .series('logferry_sink_events_total')
          .map((s) => ({ name: s.labels.sink, total: s.value })),
        paused: runners.filter((r) => r.state === 'paused').map((r) => r.source.name),
      },
    }),
    'GET /api/alerts': async () => {
      if (!backend) return noStore;
      const r = await backend.search({ query: 'dataset:alerts', limit: RECENT_ALERTS });
      return { status: 200, body: { alerts: r.hits } };
    },
    'GET /api/dead-letters': async () => {
      const entries = [];
      for await (const e of app.deadLetter.list()) {
        // A summary only: the stored bytes and events stay in the store, not on a web page.
        entries.push({
          id: e.id,
          time: e.time,
          kind: e.kind,
          source: e.source,
          sink: e.sink,
          origin: e.origin.ref,
          error: e.error,
          retryable: e.retryable,
          attempts: e.attempts,
        });
        if (entries.length >= MAX_DEAD_LETTERS_LISTED) break;
      }
      return { status: 200, body: { dead_letters: entries } };
    },
    'POST /api/dead-letters/replay': async (req) => {
      const { id } = await readJson(req, replayBody);
      const lines: string[] = [];
      const sum = await replay(app, { ids: new Set([id]), report: (l) => lines.push(l) });
      if (sum.replayed + sum.kept + sum.skipped === 0)
        return { status: 404, body: { error: `no dead letter with id ${id}` } };
      return { status: 200, body: { ...sum, report: lines } };
    },
  };
  return async (req, url) => {
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) return undefined;
    try {
      return await route(req, url);
    } catch (e) {
      if (e instanceof BadRequest || e instanceof SearchSyntaxError || e instanceof QueryError)
        return {
          status: e instanceof BadRequest && /content-type/.test(e.message) ? 415 : 400,
          body: { error: e.message },
        };
      return { status: 500, body: { error: describeError(e) } };
    }
  };
}
