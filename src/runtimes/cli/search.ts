import type { Command } from 'commander';
import { duration } from '../../config/common.js';
import { loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../core/errors.js';
import { offlineSearchBackend } from '../../search/backend.js';
import type { SearchBackend, SearchRequest, SearchResult, SqlResult } from '../../search/engine.js';
import { fail } from './exit.js';

/** How long the CLI waits for a running daemon's answer before reading the store itself. */
const DAEMON_PROBE_MS = 1500;

export class DaemonApiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DaemonApiError';
  }
}

/**
 * Searches and SQL go to the running daemon when there is one: it holds the store's only write
 * connection and DuckDB locks the file against other processes. With no daemon, the store is
 * opened read-only here (or the day files are read).
 */
export interface Searcher {
  via: 'daemon' | 'store' | 'files';
  search(req: SearchRequest): Promise<SearchResult>;
  sql(text: string): Promise<SqlResult>;
  close(): Promise<void>;
}

function daemonBase(config: Config): string | undefined {
  const listen = config.daemon.status_listen;
  if (!listen) return undefined;
  const idx = listen.lastIndexOf(':');
  let host = listen.slice(0, idx);
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '[::1]';
  return `http://${host}:${listen.slice(idx + 1)}`;
}

async function daemonCall<T>(base: string, path: string, init: RequestInit, token?: string): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: {
      ...(init.headers as Record<string, string>),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  });
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new DaemonApiError(`daemon at ${base}: ${body.error ?? `HTTP ${res.status}`}`);
  return body;
}

async function daemonRunning(base: string): Promise<boolean> {
  try {
    await fetch(`${base}/health`, { signal: AbortSignal.timeout(DAEMON_PROBE_MS) });
    return true;
  } catch {
    return false;
  }
}

export async function openSearcher(config: Config, token?: string): Promise<Searcher> {
  const base = daemonBase(config);
  if (base && (await daemonRunning(base))) {
    return {
      via: 'daemon',
      search: (req) => {
        const q = new URLSearchParams({ q: req.query, limit: String(req.limit ?? 100) });
        if (req.from !== undefined) q.set('from', String(req.from));
        if (req.to !== undefined) q.set('to', String(req.to));
        return daemonCall(base, `/api/search?${q}`, {}, token);
      },
      sql: (text) =>
        daemonCall(
          base,
          '/api/query',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ sql: text }),
          },
          token,
        ),
      close: async () => undefined,
    };
  }
  const backend: SearchBackend | undefined = await offlineSearchBackend(config);
  if (!backend) throw new ConfigError('the config has no local_store or daily_files sink to search');
  return {
    via: backend.kind,
    search: (req) => backend.search(req),
    sql: (text) => backend.sql(text),
    close: () => backend.close(),
  };
}

function timeRange(o: { from?: string; to?: string; last?: string }): { from?: number; to?: number } {
  const at = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new ConfigError(`--${name} '${v}' is not a date (e.g. 2026-11-25T10:00:00Z)`);
    return t;
  };
  if (o.last !== undefined) {
    const d = duration.safeParse(o.last);
    if (!d.success) throw new ConfigError(`--last '${o.last}' is not a duration (e.g. 15m, 2h, 7d)`);
    return { from: Date.now() - d.data, to: at('to', o.to) };
  }
  return { from: at('from', o.from), to: at('to', o.to) };
}

const write = (line: string) => process.stdout.write(`${line}\n`);

export function registerSearch(program: Command): void {
  const common = (c: Command) =>
    c
      .option('-c, --config <file>', 'config file', 'config/examples/local.yaml')
      .option('--token <token>', 'bearer token of the status API (default: $LOGFERRY_STATUS_TOKEN)');
  common(
    program
      .command('search')
      .argument('[query...]', 'e.g. user.name:alice AND http.response.time_ms:>500 "access denied"')
      .description(
        'search the stored events (local_store, or the daily files); prints one JSON document per line',
      )
      .option('--from <time>', 'events at or after this time (ISO 8601)')
      .option('--to <time>', 'events before this time (ISO 8601)')
      .option('--last <duration>', 'events of the last 15m, 2h, 7d…')
      .option('--limit <n>', 'at most this many events, newest first (max 500)', '100'),
  )
    .addHelpText(
      'after',
      '\nSyntax: field:value, field:"a phrase", field:val*, field:*, field:>500, field:[10 TO 20],\n' +
        'bare words and "phrases" (anywhere in the event), AND, OR, NOT or -term, ( ).\n' +
        'Goes through the running daemon when there is one, else reads the store read-only.',
    )
    .action(
      async (
        words: string[],
        o: { config: string; token?: string; from?: string; to?: string; last?: string; limit: string },
      ) => {
        try {
          const limit = Number(o.limit);
          if (!Number.isInteger(limit) || limit < 0 || limit > 500)
            throw new ConfigError(`--limit '${o.limit}' is not a whole number from 0 to 500`);
          const range = timeRange(o);
          const config = await loadConfigFile(o.config);
          const searcher = await openSearcher(config, o.token ?? process.env.LOGFERRY_STATUS_TOKEN);
          try {
            const r = await searcher.search({ query: words.join(' '), limit, ...range });
            for (const h of r.hits) write(JSON.stringify(h.doc));
            process.stderr.write(
              `${r.hits.length} of ${r.total} events (${searcher.via}, ${r.took_ms} ms)\n`,
            );
          } finally {
            await searcher.close();
          }
        } catch (e) {
          fail(e);
        }
      },
    );
  common(
    program
      .command('query')
      .argument('<sql>', 'one SELECT over the table events(id, dataset, ts, day, doc JSON)')
      .description('run one read-only SQL SELECT on the store; prints one JSON row per line'),
  )
    .addHelpText(
      'after',
      `\nExample: logferry query "SELECT dataset, count(*) AS n FROM events GROUP BY 1"\n` +
        'Goes through the running daemon when there is one, else opens the store read-only.',
    )
    .action(async (sql: string, o: { config: string; token?: string }) => {
      try {
        const config = await loadConfigFile(o.config);
        const searcher = await openSearcher(config, o.token ?? process.env.LOGFERRY_STATUS_TOKEN);
        try {
          const r = await searcher.sql(sql);
          for (const row of r.rows) write(JSON.stringify(row));
          if (r.truncated) process.stderr.write(`(cut at ${r.rows.length} rows)\n`);
        } finally {
          await searcher.close();
        }
      } catch (e) {
        fail(e);
      }
    });
}
