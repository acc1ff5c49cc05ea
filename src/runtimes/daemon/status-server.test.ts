import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { Secret } from '../../config/secrets.js';
import type { Source, UnitHealth } from '../../core/component.js';
import { ConfigError } from '../../core/errors.js';
import { defaultLimits } from '../../core/limits.js';
import { Metrics } from '../../core/metrics.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { memoryLogger } from '../../platform/log.js';
import { MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { UnitRunner } from '../runner/runner.js';
import type { PassEnd, UnitRead } from '../runner/unit.js';
import { startDaemon } from './daemon.js';
import { healthReport, type StatusDeps, startStatusServer } from './status-server.js';
import { SourceRunner } from './supervisor.js';

const TOKEN = 'c0ntrol-t0ken-0123456789abcdef';

/** A source that waits until stopped, and reports an endpoint with credentials in its status. */
function idleSource(name: string): Source {
  return {
    name,
    async run(ctx) {
      await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
    },
    status: () => ({ endpoint: 'https://user:PASSWORD@proxy.internal/?token=t0k' }),
  };
}

let server: Server | undefined;
let controller: AbortController | undefined;

afterEach(async () => {
  controller?.abort();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function start(listen: string, extra: Partial<StatusDeps> = {}) {
  const log = memoryLogger();
  const runner = new SourceRunner(idleSource('cloudtrail'), {
    pipeline: testPipeline({ parser: new AutoParser(), sinks: [] }),
    state: new MemoryStateStore(),
    limits: defaultLimits,
    log,
  });
  controller = new AbortController();
  void runner.run(controller.signal);
  server = await startStatusServer(listen, {
    runners: [runner],
    metrics: new Metrics(),
    startedAt: new Date(),
    redactedConfig: {},
    log,
    ...extra,
  });
  const port = (server.address() as AddressInfo).port;
  return { runner, log, port, host: `127.0.0.1:${port}` };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP request with exactly the headers given (node:http lets us forge Host, as a rebinding page does). */
function call(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const json = { 'content-type': 'application/json' };

describe('status API: who may call it', () => {
  it('refuses a Host header from DNS rebinding, for reads and for control calls', async () => {
    const { port, runner, log } = await start('127.0.0.1:0');
    const rebound = { host: `attacker.example:${port}` };
    expect((await call(port, { path: '/status', headers: rebound })).status).toBe(403);
    const post = await call(port, {
      method: 'POST',
      path: '/sources/cloudtrail/pause',
      headers: { ...rebound, ...json, origin: `http://attacker.example:${port}` },
      body: '{}',
    });
    expect(post.status).toBe(403);
    expect(runner.state).toBe('running');
    expect(log.entries.some((e) => e.level === 'warn' && e.msg.includes('Host header not allowed'))).toBe(
      true,
    );
  });

  it('answers loopback names, IP addresses and configured proxy names', async () => {
    const { port } = await start('127.0.0.1:0', { allowedHosts: ['logferry.internal'] });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'logferry.internal']) {
      expect((await call(port, { path: '/status', headers: { host } })).status, host).toBe(200);
    }
    for (const host of ['attacker.example@127.0.0.1', '127.0.0.1/x'])
      expect((await call(port, { path: '/status', headers: { host } })).status, host).toBe(403);
    expect((await call(port, { path: '/status', headers: { host: 'logferry.internal.evil' } })).status).toBe(
      403,
    );
  });

  it('refuses a cross-origin POST and accepts one from the dashboard itself', async () => {
    const { port, host, runner } = await start('127.0.0.1:0');
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${port + 1}`]) {
      const res = await call(port, {
        method: 'POST',
        path: '/sources/cloudtrail/pause',
        headers: { host, origin, ...json },
        body: '{}',
      });
      expect(res.status, origin).toBe(403);
    }
    expect(runner.state).toBe('running');
    const same = await call(port, {
      method: 'POST',
      path: '/sources/cloudtrail/pause',
      headers: { host, origin: `http://${host}`, ...json },
      body: '{}',
    });
    expect(same.status).toBe(200);
    expect(runner.state).toBe('paused');
  });

  it('asks for the bearer token on control calls, never from the URL; reads stay open on loopback', async () => {
    const { port, host, runner } = await start('127.0.0.1:0', { token: new Secret(TOKEN) });
    const pause = (headers: Record<string, string>, path = '/sources/cloudtrail/pause') =>
      call(port, { method: 'POST', path, headers: { host, ...json, ...headers }, body: '{}' });
    const missing = await pause({});
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await pause({ authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await pause({ authorization: `Basic ${TOKEN}` })).status).toBe(401);
    expect((await pause({}, `/sources/cloudtrail/pause?token=${TOKEN}`)).status).toBe(401);
    expect(runner.state).toBe('running');
    expect((await pause({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect(runner.state).toBe('paused');
    expect((await call(port, { path: '/status', headers: { host } })).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token, or with a short one', async () => {
    await expect(start('0.0.0.0:0')).rejects.toThrow(ConfigError);
    await expect(start('0.0.0.0:0')).rejects.toThrow(/needs daemon\.status_token/);
    await expect(start('127.0.0.1:0', { token: new Secret('short') })).rejects.toThrow(/at least 16/);
  });

  it('beyond loopback, asks for the token on reads too, but not for health or the page', async () => {
    const { port, host } = await start('0.0.0.0:0', { token: new Secret(TOKEN) });
    expect((await call(port, { path: '/status', headers: { host } })).status).toBe(401);
    expect((await call(port, { path: '/metrics', headers: { host } })).status).toBe(401);
    const authed = { host, authorization: `Bearer ${TOKEN}` };
    expect((await call(port, { path: '/status', headers: authed })).status).toBe(200);
    expect((await call(port, { path: '/health', headers: { host } })).status).toBe(200);
    expect((await call(port, { path: '/', headers: { host } })).status).toBe(200);
  });

  it('refuses at daemon start-up, before any source runs, a non-loopback listen address without a token', async () => {
    const config = parseConfig(
      `
sources: [{ name: in, type: inbox, path: /nonexistent/in }]
sinks: [{ name: out, type: stdout }]
daemon: { status_listen: '0.0.0.0:0' }
`,
      'cfg.yaml',
      {},
    );
    await expect(startDaemon(config, { log: memoryLogger() })).rejects.toThrow(/needs daemon\.status_token/);
  });
});

describe('status API: what it answers', () => {
  it('sends anti-framing and a strict content security policy with the dashboard', async () => {
    const { port, host } = await start('127.0.0.1:0');
    const page = await call(port, { path: '/', headers: { host } });
    expect(page.status).toBe(200);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
  });

  it('logs pause and resume with the address that asked', async () => {
    const { port, host, log } = await start('127.0.0.1:0');
    for (const action of ['pause', 'resume'])
      await call(port, { method: 'POST', path: `/sources/cloudtrail/${action}`, headers: { host, ...json } });
    const control = log.entries.filter((e) => 'action' in e.obj);
    expect(control.map((e) => [e.level, e.msg])).toEqual([
      ['warn', 'source cloudtrail paused through the status API by 127.0.0.1'],
      ['info', 'source cloudtrail resumed through the status API by 127.0.0.1'],
    ]);
    expect(control[0]!.obj).toMatchObject({ source: 'cloudtrail', action: 'pause', remote: '127.0.0.1' });
  });

  it('reports a paused source as not healthy and says which', async () => {
    const { port, host, runner } = await start('127.0.0.1:0');
    expect((await call(port, { path: '/health', headers: { host } })).status).toBe(200);
    runner.pause();
    const res = await call(port, { path: '/health', headers: { host } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ ok: false, failed: [], paused: ['cloudtrail'], lagging: [] });
  });

  it('prints no credentials that a source puts in its status', async () => {
    const { port, host } = await start('127.0.0.1:0');
    const res = await call(port, { path: '/status', headers: { host } });
    expect(res.body).not.toMatch(/PASSWORD|t0k/);
    expect(JSON.parse(res.body).sources[0].endpoint).toBe(
      'https://[redacted]@proxy.internal/?token=[redacted]',
    );
  });

  it('shows the daemon config with ${VAR} references and without URL credentials', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logferry-status-'));
    const config = parseConfig(
      `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
sources:
  - name: in
    type: inbox
    path: \${INBOX}
    parser: json_lines
    parser_options: { dataset: app.audit, url: 'https://svc:Pa55-w0rd-secret@feed.example/x?api_key=k9-api-secret' }
sinks: [{ name: out, type: stdout }]
daemon: { status_listen: '127.0.0.1:0' }
`,
      'cfg.yaml',
      { INBOX: join(dir, 'private-inbox') },
    );
    const daemon = await startDaemon(config, { log: memoryLogger() });
    try {
      const port = (daemon.server!.address() as AddressInfo).port;
      const res = await call(port, { path: '/status', headers: { host: `127.0.0.1:${port}` } });
      expect(res.body).not.toMatch(/Pa55-w0rd-secret|k9-api-secret/);
      const shown = JSON.parse(res.body).config;
      expect(JSON.stringify(shown)).not.toContain('private-inbox');
      expect(shown.sources[0]).toMatchObject({
        path: '${INBOX}',
        parser_options: { url: 'https://[redacted]@feed.example/x?api_key=[redacted]' },
      });
    } finally {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pauses and resumes one unit of a source, leaving the source and its other units running', async () => {
    const units = ['s/shard-0', 's/shard-1'].map(
      (id) =>
        new UnitRunner(
          {
            id,
            load: async () => undefined,
            async *read(): AsyncGenerator<UnitRead<number>, PassEnd> {
              yield { batch: { source: 'stream', items: [] }, cursorAfter: () => 0 };
              return 'idle';
            },
            commit: async () => undefined,
          },
          {
            process: async () => ({ items: [], events: 0, cutShort: false }),
            signal: new AbortController().signal,
            log: memoryLogger(),
            intervalMs: 5,
          },
        ),
    );
    const source: Source = {
      ...idleSource('stream'),
      units: () => units,
    };
    const log = memoryLogger();
    const runner = new SourceRunner(source, {
      pipeline: testPipeline({ parser: new AutoParser(), sinks: [] }),
      state: new MemoryStateStore(),
      limits: defaultLimits,
      log,
    });
    controller = new AbortController();
    void runner.run(controller.signal);
    server = await startStatusServer('127.0.0.1:0', {
      runners: [runner],
      metrics: new Metrics(),
      startedAt: new Date(),
      redactedConfig: {},
      log,
    });
    const port = (server.address() as AddressInfo).port;
    const host = `127.0.0.1:${port}`;
    const post = (path: string) =>
      call(port, { method: 'POST', path, headers: { host, ...json }, body: '{}' });
    const paused = await post(`/sources/stream/units/${encodeURIComponent('s/shard-1')}/pause`);
    expect(paused.status).toBe(200);
    expect(units.map((u) => u.state)).toEqual(['starting', 'paused']);
    expect(runner.state).toBe('running');
    expect(log.entries.some((e) => e.msg.includes('unit s/shard-1 paused'))).toBe(true);
    await post(`/sources/stream/units/${encodeURIComponent('s/shard-1')}/resume`);
    expect(units[1]!.state).toBe('running');
    expect((await post('/sources/stream/units/nope/pause')).status).toBe(404);
    for (const u of units) u.stop();
  });
});

describe('health: lagging units', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const unit = (id: string, state: UnitHealth['state'], progressAgoMs: number): UnitHealth => ({
    unit: id,
    state,
    events: 0,
    errors: 0,
    progressAt: t0 - progressAgoMs,
  });
  const runnerWith = (units: UnitHealth[]) => {
    const runner = new SourceRunner(
      { ...idleSource('duo'), unitHealth: () => units },
      {
        pipeline: testPipeline({ parser: new AutoParser(), sinks: [] }),
        state: new MemoryStateStore(),
        limits: defaultLimits,
        log: memoryLogger(),
      },
    );
    runner.state = 'running';
    return runner;
  };

  it('reports a working unit without progress for longer than max_lag as lagging, and not ok', () => {
    const runner = runnerWith([
      unit('authentication', 'idle', 60_000),
      unit('telephony', 'backing-off', 11 * 60_000),
      unit('administrator', 'finished', 60 * 60_000),
    ]);
    expect(healthReport([runner], { maxLagMs: 10 * 60_000 }, t0)).toEqual({
      ok: false,
      failed: [],
      paused: [],
      lagging: ['duo/telephony'],
    });
  });

  it('reports no lag while max_lag is off, or for the units of a paused source', () => {
    const runner = runnerWith([unit('telephony', 'backing-off', 11 * 60_000)]);
    expect(healthReport([runner], {}, t0).ok).toBe(true);
    runner.pause();
    expect(healthReport([runner], { maxLagMs: 10 * 60_000 }, t0)).toMatchObject({
      paused: ['duo'],
      lagging: [],
    });
  });

  it('reports a unit silent for more than lag_intervals of its current interval as lagging', () => {
    const shard = (id: string, intervalMs: number, agoMs: number): UnitHealth => ({
      ...unit(id, 'idle', agoMs),
      intervalMs,
    });
    const runner = runnerWith([
      shard('s/shard-0', 1000, 2500),
      shard('s/shard-1', 1000, 3500),
      // A unit slowed down at run time (thread NAME interval 10m) is held to its new interval.
      shard('s/shard-2', 600_000, 20 * 60_000),
      // Without an interval, only max_lag applies.
      unit('authentication', 'idle', 60 * 60_000),
    ]);
    expect(healthReport([runner], { lagIntervals: 3 }, t0)).toMatchObject({
      ok: false,
      lagging: ['duo/s/shard-1'],
    });
    expect(healthReport([runner], { lagIntervals: 3, maxLagMs: 30 * 60_000 }, t0).lagging).toEqual([
      'duo/s/shard-1',
      'duo/authentication',
    ]);
  });
});
