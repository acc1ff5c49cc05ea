import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../config/secrets.js';
import type { Source } from '../../core/component.js';
import { ControlError } from '../../core/errors.js';
import { defaultLimits } from '../../core/limits.js';
import { Metrics } from '../../core/metrics.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { memoryLogger } from '../../platform/log.js';
import { MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { UnitRunner } from '../runner/runner.js';
import type { PassEnd, UnitRead, WorkUnit } from '../runner/unit.js';
import { parseCommand, splitCommand } from './commands.js';
import { startStatusServer } from './status-server.js';
import { SourceRunner } from './supervisor.js';

const TOKEN = 'c0ntrol-t0ken-0123456789abcdef';

/** A shard-like unit that reads nothing, forever; its cursor is a number an operator may set. */
function emptyUnit(id: string): WorkUnit<number> {
  return {
    id,
    load: async () => 7,
    async *read(): AsyncGenerator<UnitRead<number>, PassEnd> {
      yield { batch: { source: 'stream', items: [] }, cursorAfter: () => 0 };
      return 'idle';
    },
    commit: async () => undefined,
    parseCursor(text) {
      if (!/^\d{1,9}$/.test(text))
        throw new ControlError(`${id}: a checkpoint is a number`, { refusal: 'invalid' });
      return Number(text);
    },
  };
}

let server: Server | undefined;
const controller = new AbortController();
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function start() {
  const log = memoryLogger();
  const signal = new AbortController().signal;
  const units = ['s/shard-0', 's/shard-1'].map(
    (id) =>
      new UnitRunner(emptyUnit(id), {
        process: async () => ({ items: [], events: 0, cutShort: false }),
        signal,
        log,
        intervalMs: 5,
      }),
  );
  for (const u of units) void u.run();
  const source: Source = {
    name: 'stream',
    run: (ctx) => new Promise((r) => ctx.signal.addEventListener('abort', () => r(), { once: true })),
    units: () => units,
  };
  const runner = new SourceRunner(source, {
    pipeline: testPipeline({ parser: new AutoParser(), sinks: [] }),
    state: new MemoryStateStore(),
    limits: defaultLimits,
    log,
  });
  void runner.run(controller.signal);
  let rotations = 0;
  server = await startStatusServer('127.0.0.1:0', {
    runners: [runner],
    metrics: new Metrics(),
    startedAt: new Date(),
    redactedConfig: {},
    log,
    token: new Secret(TOKEN),
    rotate: async () => {
      rotations++;
      return ['daily'];
    },
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/control`;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
  return { units, runner, log, post, rotations: () => rotations };
}

describe('POST /control', () => {
  it('runs a command given as one line or as words, on one unit only, and audits it with the peer', async () => {
    const { units, post, log } = await start();
    const res = await post({ command: 'thread stream/s/shard-1 interval 2m' });
    expect(res).toEqual({
      status: 200,
      body: { ok: true, level: 2, message: 'Thread stream/s/shard-1 interval 120s from its next poll' },
    });
    expect(units.map((u) => u.intervalMs)).toEqual([5, 120_000]);
    const stop = await post({ command: 'thread', args: ['stream/s/shard-0', 'stop'] });
    expect(stop.status).toBe(200);
    expect(units.map((u) => u.state)).toEqual(['paused', expect.not.stringMatching('paused')]);
    expect(
      log.entries.some(
        (e) =>
          e.msg ===
          'control: thread stream/s/shard-0 stop by 127.0.0.1 over http: Thread stream/s/shard-0 terminated',
      ),
    ).toBe(true);
    const set = await post({ command: 'checkpoint stream/s/shard-0 set 42' });
    expect(set.body).toMatchObject({ checkpoint: '42' });
    expect((await post({ command: 'checkpoint stream/s/shard-0 show' })).body.message).toBe(
      'stream/s/shard-0 checkpoint 42',
    );
    expect((await post({ command: 'thread stream/s/shard-0 maxcount 3' })).status).toBe(200);
    expect(units[0]!.status()).toMatchObject({ max_count_left: 3 });
    expect((await post({ command: 'thread stream/s/shard-0 start' })).status).toBe(200);
    expect(units[0]!.state).not.toBe('paused');
    for (const u of units) u.stop();
  });

  it('clears errors of every source and unit, and rotates through the daemon', async () => {
    const { units, runner, post, rotations } = await start();
    runner.lastError = 'old';
    units[1]!.lastError = 'throttled';
    units[1]!.errors = 3;
    expect((await post({ command: 'clear' })).body.message).toBe('Cleared the errors of 3 sources and units');
    expect([runner.lastError, units[1]!.lastError, units[1]!.errors]).toEqual([undefined, undefined, 0]);
    expect((await post({ command: 'rotate' })).body).toMatchObject({ message: 'Okay: reopened daily' });
    expect(rotations()).toBe(1);
    for (const u of units) u.stop();
  });

  it('refuses an attacker: no token, another origin, a form post, an oversized body, bad JSON', async () => {
    const { units, post, log } = await start();
    const cmd = { command: 'thread stream/s/shard-0 stop' };
    expect((await post(cmd, { authorization: '' })).status).toBe(401);
    expect((await post(cmd, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await post(cmd, { origin: 'http://attacker.example' })).status).toBe(403);
    expect((await post(cmd, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post({ command: `thread ${'a'.repeat(5000)} stop` })).status).toBe(413);
    expect((await post('{"command": ')).status).toBe(400);
    expect((await post({ command: 'thread stream/s/shard-0 stop', extra: 1 })).status).toBe(400);
    expect((await post({ command: 'thread', args: ['stream/s/shard-0 stop'] })).body.error).toMatch(
      /one word/,
    );
    expect(units[0]!.state).not.toBe('paused');
    expect(log.entries.filter((e) => e.msg.startsWith('status API refused POST /control'))).toHaveLength(3);
    expect(
      log.entries.filter((e) => e.msg.startsWith('control: a command by 127.0.0.1 over http refused')),
    ).toHaveLength(5);
    for (const u of units) u.stop();
  });

  it('answers refused commands with their status and one line: unknown, path-ish, wrong state, unsupported', async () => {
    const { units, post } = await start();
    expect(await post({ command: 'thread stream/nope stop' })).toEqual({
      status: 404,
      body: { error: 'No such thread or unit: stream/nope (see: help)' },
    });
    const pathish = await post({ command: 'checkpoint stream/../../etc/passwd set 1' });
    expect(pathish.status).toBe(400);
    expect(pathish.body.error).not.toContain('passwd');
    expect((await post({ command: 'checkpoint stream/s/shard-0 set 5' })).status).toBe(409);
    expect((await post({ command: 'thread stream/s/shard-0 start' })).body.error).toBe(
      'Thread stream/s/shard-0 is already active.',
    );
    expect((await post({ command: 'thread stream interval 30s' })).status).toBe(501);
    expect((await post({ command: 'reboot' })).body.error).toBe('Unrecognized command (see: help)');
    for (const u of units) u.stop();
  });
});

describe('command parsing', () => {
  it('takes durations as the config does, and bare seconds only where asked (UDP)', () => {
    expect(parseCommand(['thread', 'auth', 'interval', '90s'])).toMatchObject({ ms: 90_000 });
    expect(() => parseCommand(['thread', 'auth', 'interval', '90'])).toThrow(/90s for 90 seconds/);
    expect(parseCommand(['thread', 'auth', 'interval', '90'], { bareSeconds: true })).toMatchObject({
      ms: 90_000,
    });
    expect(() => parseCommand(['thread', 'auth', 'interval', '1ms'])).toThrow(/between 100ms and 7d/);
    expect(parseCommand(['thread', 'auth', 'terminate'])).toEqual({
      verb: 'thread',
      name: 'auth',
      action: 'stop',
    });
    expect(() => parseCommand(['thread', 'auth', 'maxcount', '-1'])).toThrow(ControlError);
  });

  it('refuses names that are not names, control characters and oversized lines, without quoting them', () => {
    for (const name of ['../x', 'a/../b', '/etc', 'a//b', 'a/', 'x;rm', `a${'b'.repeat(300)}`])
      expect(() => parseCommand(['thread', name, 'stop']), name).toThrow(/not a thread or unit name/);
    expect(() => splitCommand('status\u0000')).toThrow(/control characters/);
    expect(() => splitCommand('s'.repeat(600))).toThrow(/over 512 characters/);
    expect(() => parseCommand(['status', 'now'])).toThrow(/takes no arguments/);
  });
});
