import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../core/component.js';
import type { Metrics } from '../../core/metrics.js';
import type { ApiHandler } from './api/search.js';
import type { SourceRunner } from './supervisor.js';

export interface StatusDeps {
  runners: SourceRunner[];
  metrics: Metrics;
  startedAt: Date;
  /** The config with secrets redacted, for the dashboard. */
  redactedConfig: unknown;
  log: Logger;
  /** Extra routes other features add (dead-letter listing, search). */
  extraRoutes?: Record<string, (req: IncomingMessage, url: URL) => Promise<unknown>>;
  /** The search/dashboard API (api/search.ts); answers only the routes it knows. */
  api?: ApiHandler;
}

// web/ sits at the repository root: three levels up from this file, one from the bundled dist/cli.mjs.
const here = dirname(fileURLToPath(import.meta.url));
const WEB_ROOT =
  [join(here, '../../../web'), join(here, '../web')].find((d) => existsSync(join(d, 'index.html'))) ??
  join(here, '../../../web');

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body, null, 2) : String(body);
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The status/control API on localhost: `GET /health`, `GET /status`, `GET /metrics`
 * (Prometheus), `POST /sources/NAME/pause|resume`, and the dashboard at `/`.
 * Control calls must come with `content-type: application/json` so a web page on another
 * origin cannot trigger them with a simple form post.
 */
export function startStatusServer(listen: string, deps: StatusDeps): Promise<Server> {
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(idx + 1));
  const server = createServer((req, res) => {
    handle(req, res, deps).catch((e) => {
      deps.log.error({}, `status API: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: StatusDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/health') {
    const failed = deps.runners.filter((r) => r.state === 'failed').map((r) => r.source.name);
    return send(res, failed.length ? 503 : 200, { ok: failed.length === 0, failed });
  }
  if (req.method === 'GET' && path === '/status') {
    return send(res, 200, {
      started_at: deps.startedAt.toISOString(),
      uptime_s: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
      sources: deps.runners.map((r) => r.status()),
      totals: {
        events: deps.metrics.total('logferry_events_total'),
        delivered: deps.metrics.total('logferry_sink_events_total'),
        dead_letters: deps.metrics.total('logferry_dead_letters_total'),
        retries: deps.metrics.total('logferry_sink_retries_total'),
        alerts: deps.metrics.total('logferry_alerts_total'),
      },
      config: deps.redactedConfig,
    });
  }
  if (req.method === 'GET' && path === '/metrics')
    return send(res, 200, deps.metrics.prometheus(), 'text/plain');
  const control = /^\/sources\/([^/]+)\/(pause|resume)$/.exec(path);
  if (control && req.method === 'POST') {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(res, 415, { error: 'send content-type: application/json' });
    }
    const runner = deps.runners.find((r) => r.source.name === decodeURIComponent(control[1]!));
    if (!runner) return send(res, 404, { error: `no source named ${control[1]}` });
    if (control[2] === 'pause') runner.pause();
    else runner.resume();
    return send(res, 200, runner.status());
  }
  const api = await deps.api?.(req, url);
  if (api) return send(res, api.status, api.body);
  const extra = deps.extraRoutes?.[path];
  if (extra && req.method === 'GET') return send(res, 200, await extra(req, url));
  if (req.method === 'GET' && (path === '/' || path === '/index.html' || /^\/[\w-]+\.(js|css)$/.test(path))) {
    const file = path === '/' ? 'index.html' : path.slice(1);
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
    try {
      return send(res, 200, await readFile(join(WEB_ROOT, file), 'utf8'), type);
    } catch {
      return send(res, 404, { error: 'not found' });
    }
  }
  send(res, 404, { error: 'not found' });
}
