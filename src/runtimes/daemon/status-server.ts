import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Secret } from '../../config/secrets.js';
import type { Logger, UnitHealth } from '../../core/component.js';
import { ConfigError } from '../../core/errors.js';
import type { Metrics } from '../../core/metrics.js';
import { isLoopbackHost } from '../../core/net.js';
import { redactString, redactStrings } from '../../core/redact.js';
import { handleControl } from './api/control.js';
import type { ApiHandler } from './api/search.js';
import type { SourceRunner } from './supervisor.js';
import { unitPrometheus } from './unit-metrics.js';

export interface StatusDeps {
  runners: SourceRunner[];
  metrics: Metrics;
  startedAt: Date;
  /** The config with secrets redacted, for the dashboard. */
  redactedConfig: unknown;
  log: Logger;
  /** Bearer token for control calls, and for every call but health and the page when off loopback. */
  token?: Secret | undefined;
  /** Host header names (or host:port) accepted besides localhost and IP addresses; lower case. */
  allowedHosts?: readonly string[];
  /** Extra routes other features add (dead-letter listing, search). */
  extraRoutes?: Record<string, (req: IncomingMessage, url: URL) => Promise<unknown>>;
  /** The search/dashboard API (api/search.ts); answers only the routes it knows. */
  api?: ApiHandler;
  /** daemon.health.max_lag: a unit without progress for longer is lagging. */
  maxLagMs?: number | undefined;
  /** daemon.health.lag_intervals: a unit without progress for this many of its intervals is lagging. */
  lagIntervals?: number | undefined;
  /** Closes and reopens output files (the `rotate` command); names what reopened. */
  rotate?: () => Promise<string[]>;
}

/** Shortest token accepted: shorter ones can be guessed through the API itself. */
export const MIN_TOKEN_LENGTH = 16;

// web/ sits at the repository root: three levels up from this file, one from the bundled dist/cli.mjs.
const here = dirname(fileURLToPath(import.meta.url));
const WEB_ROOT =
  [join(here, '../../../web'), join(here, '../web')].find((d) => existsSync(join(d, 'index.html'))) ??
  join(here, '../../../web');

/**
 * Sent with every answer: the dashboard loads only its own script and style, talks only to this
 * server, and cannot be framed (clickjacking the pause button).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  type = 'application/json',
  headers: Record<string, string> = {},
): void {
  const text = type === 'application/json' ? JSON.stringify(body, null, 2) : String(body);
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': `${type}; charset=utf-8` });
  res.end(text);
}

export function splitListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  return { host: listen.slice(0, idx).replace(/^\[|\]$/g, ''), port: Number(listen.slice(idx + 1)) };
}

/**
 * Refuses, before listening, an API that anyone on the network could pause: beyond loopback it
 * needs a token, and the token must not be guessable.
 */
export function checkExposure(listen: string, token: Secret | undefined): void {
  if (token && token.reveal().length < MIN_TOKEN_LENGTH)
    throw new ConfigError(
      `daemon.status_token: the token must have at least ${MIN_TOKEN_LENGTH} characters (try: openssl rand -hex 32)`,
    );
  if (!token && !isLoopbackHost(splitListen(listen).host))
    throw new ConfigError(
      `status API on ${listen}: listening beyond loopback needs daemon.status_token (or listen on 127.0.0.1 behind a reverse proxy)`,
    );
}

/**
 * The status/control API: `GET /health`, `GET /status`, `GET /metrics` (Prometheus),
 * `POST /sources/NAME/pause|resume`, `POST /control` (the command set), and the dashboard at `/`. See docs/security.md for who
 * may call what.
 */
export function startStatusServer(listen: string, deps: StatusDeps): Promise<Server> {
  checkExposure(listen, deps.token);
  const { host, port } = splitListen(listen);
  const onLoopback = isLoopbackHost(host);
  const server = createServer((req, res) => {
    handle(req, res, deps, onLoopback).catch((e) => {
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

/** Who asked, for the log: the peer address, and what a proxy in front says (unverified). */
function caller(req: IncomingMessage): { remote: string; forwarded_for?: string } {
  const fwd = req.headers['x-forwarded-for'];
  return {
    remote: req.socket.remoteAddress ?? 'unknown',
    ...(typeof fwd === 'string' ? { forwarded_for: redactString(fwd.slice(0, 200)) } : {}),
  };
}

/**
 * DNS rebinding defence: a page on evil.example whose name now resolves to 127.0.0.1 still sends
 * `Host: evil.example`. IP literals cannot be rebound, `localhost` is resolved by the browser
 * itself, and a reverse proxy's name must be listed.
 */
export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  // Only what a browser can send: a name or an IP address, and a port. No userinfo tricks.
  if (!hostHeader || !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(hostHeader)) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (hostname === 'localhost' || isIP(bare) !== 0) return true;
  const lower = hostHeader.toLowerCase();
  return allowed.includes(hostname) || allowed.includes(lower);
}

/**
 * A browser sends `Origin` with every POST: it must be this very site (the Host asked for, or a
 * listed proxy name). Clients without a browser (curl, scripts) send none and are judged by token.
 */
function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const host = url.host.toLowerCase();
  return (
    host === (req.headers.host ?? '').toLowerCase() ||
    allowed.includes(url.hostname) ||
    allowed.includes(host)
  );
}

function tokenMatches(req: IncomingMessage, token: Secret): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  // Hashing first gives equal lengths, so the comparison time says nothing about the token.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token.reveal()));
}

const STATIC = /^\/(index\.html|[\w-]+\.(js|css))?$/;

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  deps: StatusDeps,
  onLoopback: boolean,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  const allowed = deps.allowedHosts ?? [];
  const refuse = (status: number, error: string, headers: Record<string, string> = {}) => {
    deps.log.warn(
      { ...caller(req), method: req.method, path: redactString(path) },
      `status API refused ${req.method} ${redactString(path)}: ${error}`,
    );
    send(res, status, { error }, 'application/json', headers);
  };
  if (!hostAllowed(req.headers.host, allowed))
    return refuse(403, 'Host header not allowed (add the name to daemon.status_allowed_hosts)');
  if (req.method === 'POST' && !originAllowed(req, allowed))
    return refuse(403, 'cross-origin request refused');
  const isRead = req.method === 'GET' || req.method === 'HEAD';
  const open = path === '/health' || (isRead && STATIC.test(path));
  const needsToken = deps.token !== undefined && !open && (!isRead || !onLoopback);
  if (needsToken && !tokenMatches(req, deps.token!))
    return refuse(401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer realm="logferry"' });

  if (req.method === 'GET' && path === '/health') return sendHealth(res, deps);
  if (req.method === 'GET' && path === '/status') return send(res, 200, redactStrings(statusBody(deps)));
  if (req.method === 'GET' && path === '/metrics')
    return send(res, 200, deps.metrics.prometheus() + unitPrometheus(deps.runners), 'text/plain');
  if (path === '/control' && req.method === 'POST') {
    const r = await handleControl(req, {
      runners: deps.runners,
      log: deps.log,
      rotate: deps.rotate ?? (async () => []),
      peer: caller(req).remote,
    });
    return send(res, r.status, redactStrings(r.body));
  }
  const control = /^\/sources\/([^/]+)(?:\/units\/([^/]+))?\/(pause|resume)$/.exec(path);
  if (control && req.method === 'POST') {
    // A form post from another page cannot set this content type without a CORS preflight.
    if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
      return refuse(415, 'send content-type: application/json');
    const name = decodeURIComponent(control[1]!);
    const runner = deps.runners.find((r) => r.source.name === name);
    if (!runner) return send(res, 404, { error: `no source named ${redactString(name)}` });
    const unitId = control[2] === undefined ? undefined : decodeURIComponent(control[2]);
    const target = unitId === undefined ? runner : runner.unit(unitId);
    if (!target) return send(res, 404, { error: `source ${name} has no unit ${redactString(unitId ?? '')}` });
    const action = control[3] as 'pause' | 'resume';
    const who = caller(req);
    const what = unitId === undefined ? `source ${name}` : `source ${name} unit ${redactString(unitId)}`;
    const line = `${what} ${action === 'pause' ? 'paused' : 'resumed'} through the status API by ${who.remote}`;
    if (action === 'pause') {
      target.pause();
      deps.log.warn({ source: name, unit: unitId, action, ...who }, line);
    } else {
      target.resume();
      deps.log.info({ source: name, unit: unitId, action, ...who }, line);
    }
    return send(res, 200, redactStrings(target.status()));
  }
  const api = await deps.api?.(req, url);
  if (api) return send(res, api.status, api.body);
  const extra = deps.extraRoutes?.[path];
  if (extra && req.method === 'GET') return send(res, 200, redactStrings(await extra(req, url)));
  if (req.method === 'GET' && STATIC.test(path)) {
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

/** 200 only when every source is working: a paused or failed source is something to look at. */
function sendHealth(res: ServerResponse, deps: StatusDeps): void {
  const report = healthReport(deps.runners, { maxLagMs: deps.maxLagMs, lagIntervals: deps.lagIntervals });
  send(res, report.ok ? 200 : 503, redactStrings(report));
}

/** A unit in one of these states is expected to make progress; the others are reported as they are. */
const WORKING: ReadonlySet<string> = new Set(['starting', 'running', 'idle', 'backing-off']);

export interface LagLimits {
  /** No progress for longer than this is lagging. */
  maxLagMs?: number | undefined;
  /** No progress for longer than this many of the unit's current intervals is lagging. */
  lagIntervals?: number | undefined;
}

/**
 * Sources and units (`source/unit`, e.g. `duo/authentication`) that failed, are paused, or have
 * made no progress (a successful read or commit) for longer than a lag limit allows.
 */
export function healthReport(runners: readonly SourceRunner[], limits: LagLimits = {}, now = Date.now()) {
  const failed: string[] = [];
  const paused: string[] = [];
  const lagging: string[] = [];
  for (const r of runners) {
    const name = r.source.name;
    if (r.state === 'failed') failed.push(name);
    if (r.state === 'paused') paused.push(name);
    // A paused or failed source is already reported; its units' silence is no news.
    const sourceWorking = r.state === 'running' || r.state === 'starting';
    for (const u of r.unitHealth()) {
      const id = `${name}/${u.unit}`;
      if (u.state === 'failed') failed.push(id);
      else if (u.state === 'paused') paused.push(id);
      else if (sourceWorking && WORKING.has(u.state) && lags(u, limits, now)) lagging.push(id);
    }
  }
  return { ok: failed.length + paused.length + lagging.length === 0, failed, paused, lagging };
}

/** Whichever limit is set and smaller decides; a unit that does not report its interval has only max_lag. */
function lags(u: UnitHealth, limits: LagLimits, now: number): boolean {
  const silentMs = now - u.progressAt;
  if (limits.maxLagMs !== undefined && silentMs > limits.maxLagMs) return true;
  return limits.lagIntervals !== undefined && !!u.intervalMs && silentMs > limits.lagIntervals * u.intervalMs;
}

function statusBody(deps: StatusDeps) {
  return {
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
  };
}
