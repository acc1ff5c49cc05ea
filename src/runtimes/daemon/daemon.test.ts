import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { makeEvents } from '../../demo/duo-events.js';
import { FakeDuo } from '../../demo/duo-fake.js';
import { memoryLogger } from '../../platform/log.js';
import { type Daemon, startDaemon } from './daemon.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A daemon with one Duo source polling the fake Duo; `skey` wrong makes every log stop on 401. */
async function duoDaemon(
  opts: { skey?: string; logs?: string } = {},
): Promise<{ daemon: Daemon; fake: FakeDuo }> {
  const dir = await mkdtemp(join(tmpdir(), 'logferry-daemon-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const fake = new FakeDuo();
  const endpoint = await fake.listen();
  cleanups.push(() => fake.close());
  const config = parseConfig(
    `
state: { type: file, path: ${dir}/state }
dead_letter: { type: file, path: ${dir}/dlq }
sources:
  - name: duo
    type: duo
    host: ${fake.host}
    ikey: ${fake.ikey}
    skey: ${opts.skey ?? fake.skey}
    endpoint: ${endpoint}
    retry: { backoff: 1ms, max_backoff: 4ms }
    ${opts.logs ?? ''}
sinks: [{ name: out, type: stdout }]
daemon: { status_listen: '127.0.0.1:0' }
`,
    'cfg.yaml',
  );
  const daemon = await startDaemon(config, { log: memoryLogger() });
  cleanups.push(() => daemon.stop());
  return { daemon, fake };
}

async function get(daemon: Daemon, path: string): Promise<{ status: number; body: unknown }> {
  const port = (daemon.server!.address() as AddressInfo).port;
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: path === '/metrics' ? await res.text() : await res.json() };
}

async function until(what: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
}

describe('daemon whose every source failed', () => {
  it('keeps serving /status and /health (503, naming the source) until stopped', async () => {
    const { daemon } = await duoDaemon({ skey: 'wrong-secret-key-value-0000000000000000' });
    let ended = false;
    void daemon.done.then(() => {
      ended = true;
    });
    await until(() => daemon.runners[0]!.state === 'failed');
    // Give `done` every chance to settle, as it did when the daemon exited here.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    const health = await get(daemon, '/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({
      ok: false,
      failed: ['duo', 'duo/authentication', 'duo/administrator', 'duo/telephony'],
    });
    const status = await get(daemon, '/status');
    expect(status.status).toBe(200);
    expect(JSON.stringify(status.body)).toContain('40103');
    await daemon.stop();
    await daemon.done;
    expect(ended).toBe(true);
  });
});

describe('/health with a Duo source', () => {
  it('names a single Duo log that stopped while the other logs poll on', async () => {
    const { daemon, fake } = await duoDaemon();
    fake.inject('403', 1, '/admin/v2/logs/authentication');
    const logs = () =>
      (daemon.runners[0]!.status() as { logs?: Record<string, { state: string }> }).logs ?? {};
    await until(() => logs().authentication?.state === 'failed');
    expect(daemon.runners[0]!.state).toBe('running');
    const health = await get(daemon, '/health');
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ ok: false, failed: ['duo/authentication'], paused: [] });
  });
});

describe('/metrics per unit', () => {
  it('exports events, errors, lag, checkpoint age and state for each Duo log', async () => {
    const { daemon, fake } = await duoDaemon();
    fake.add('telephony', makeEvents('telephony', 30, Date.now() - 3_600_000, 100));
    fake.inject('403', 1, '/admin/v2/logs/authentication');
    const logs = () =>
      (
        daemon.runners[0]!.status() as {
          logs?: Record<string, { state: string; events: number; checkpoint?: string }>;
        }
      ).logs ?? {};
    await until(
      () => logs().authentication?.state === 'failed' && logs().telephony?.checkpoint !== undefined,
    );
    const text = (await get(daemon, '/metrics')).body as string;
    const series = (name: string, labels: string) =>
      new RegExp(`^${name}\\{${labels}\\} ([0-9.e+-]+)$`, 'm').exec(text)?.[1];
    expect(series('logferry_unit_events_total', 'source="duo",unit="telephony"')).toBe('30');
    expect(series('logferry_unit_errors_total', 'source="duo",unit="authentication"')).toBe('1');
    expect(series('logferry_unit_state', 'source="duo",state="failed",unit="authentication"')).toBe('1');
    expect(series('logferry_unit_state', 'source="duo",state="running",unit="authentication"')).toBe('0');
    expect(Number(series('logferry_unit_lag_seconds', 'source="duo",unit="telephony"'))).toBeGreaterThan(0);
    expect(series('logferry_unit_checkpoint_age_seconds', 'source="duo",unit="telephony"')).toBeDefined();
    expect(
      series('logferry_unit_checkpoint_age_seconds', 'source="duo",unit="authentication"'),
    ).toBeUndefined();
  });
});

describe('pausing one Duo log through the control API', () => {
  it('holds that log (no events, reported paused) while the other logs poll on, and resumes it', async () => {
    const { daemon, fake } = await duoDaemon({
      logs: "logs: { authentication: { interval: 20ms }, administrator: { enabled: false }, telephony: { interval: '20ms' } }",
    });
    const logs = () =>
      (daemon.runners[0]!.status() as unknown as { logs: Record<string, { state: string; events: number }> })
        .logs;
    await until(() => daemon.runners[0]!.unit('telephony') !== undefined);
    const port = (daemon.server!.address() as AddressInfo).port;
    const post = (path: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
    const paused = await post('/sources/duo/units/telephony/pause');
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ unit: 'telephony', state: 'paused' });
    const base = Date.now() - 3_600_000;
    fake.add('telephony', makeEvents('telephony', 10, base, 100));
    fake.add('authentication', makeEvents('authentication', 10, base, 100));
    await until(() => logs().authentication!.events === 10);
    expect(logs().telephony).toMatchObject({ state: 'paused', events: 0 });
    expect(daemon.runners[0]!.state).toBe('running');
    expect((await get(daemon, '/health')).body).toMatchObject({ ok: false, paused: ['duo/telephony'] });
    expect((await post('/sources/duo/units/telephony/resume')).status).toBe(200);
    await until(() => logs().telephony!.events === 10);
    expect((await get(daemon, '/health')).body).toMatchObject({ ok: true, paused: [] });
  });
});
