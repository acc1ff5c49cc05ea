import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { StateError } from '../../core/errors.js';
import { defaultLimits } from '../../core/limits.js';
import { makeEvents } from '../../demo/duo-events.js';
import { FakeDuo } from '../../demo/duo-fake.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { memoryLogger } from '../../platform/log.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { type Daemon, startDaemon } from './daemon.js';
import { statusAnswer } from './ding.js';
import { SourceRunner } from './supervisor.js';

let dir: string;
let fake: FakeDuo;
let daemon: Daemon;
const clients: Socket[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-ding-'));
  fake = new FakeDuo();
  fake.add('authentication', makeEvents('authentication', 20, Date.now() - 3_600_000, 1000));
  const config = configSchema.parse({
    state: { type: 'file', path: join(dir, 'state') },
    dead_letter: { type: 'file', path: join(dir, 'dead-letter') },
    sources: [
      {
        type: 'duo',
        name: 'duo',
        host: fake.host,
        ikey: fake.ikey,
        skey: fake.skey,
        endpoint: await fake.listen(),
        lookback: '2h',
      },
    ],
    sinks: [{ type: 'daily_files', name: 'files', path: join(dir, 'logs'), fsync: false }],
    daemon: { status_listen: false, udp: { host: '127.0.0.1', port: 0 } },
  });
  daemon = await startDaemon(config, { log: memoryLogger() });
  // Status lines show a poll's time and count: wait for every log's first poll.
  const logs = () =>
    Object.values(
      (daemon.runners[0]!.status() as unknown as { logs: Record<string, { polls: number }> }).logs,
    );
  while (!logs().every((l) => l.polls > 0)) await new Promise((r) => setTimeout(r, 20));
});

afterAll(async () => {
  for (const c of clients) c.close();
  await daemon.stop();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** A real UDP client, bound to `address` (127.0.0.2 stands for a host other than this one). */
async function client(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  clients.push(s);
  await new Promise<void>((r) => s.bind(0, address, () => r()));
  return s;
}

function ask(s: Socket, text: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    s.once('message', (m) => resolve(m.toString('utf8')));
    s.send(text, daemon.ding!.port, '127.0.0.1');
  });
}

const LINE = /^auth: At \d\d:\d\d:\d\d up to \d\d-\d\d-\d\d \d\d:\d\d:\d\d count: \d+ interval: 60$/m;

describe('UDP ding responder (duo_watcher protocol)', () => {
  it('answers status with the sequence number, the ready code and one line per Duo log, as duo_watcher did', async () => {
    const reply = await ask(await client(), '17 status');
    expect(reply.startsWith('17 P0Ready\n\n')).toBe(true);
    expect(reply).toMatch(LINE);
    expect(reply).toMatch(/^admin: At .* interval: 300$/m);
    expect(reply).toMatch(/^phone: At .* interval: 300$/m);
    expect(await ask(await client('127.0.0.2'), 's')).toMatch(LINE);
  });

  it('takes controls only from loopback: a stop from elsewhere gets no answer and changes nothing', async () => {
    const remote = await client('127.0.0.2');
    remote.send('thread auth stop', daemon.ding!.port, '127.0.0.1');
    // Datagrams on loopback keep their order: this status is answered after the stop was handled.
    expect(await ask(remote, 'status')).toMatch(LINE);
    expect(daemon.runners[0]!.state).toBe('running');
  });

  it('stops, starts and steers one Duo log from loopback, the other logs going on', async () => {
    const local = await client();
    const auth = () => daemon.runners[0]!.unit('authentication')!.status().state;
    expect(await ask(local, '3 thread auth stop')).toBe('3 P2Thread auth terminated\n');
    expect(auth()).toBe('paused');
    expect(daemon.runners[0]!.state).toBe('running');
    expect(daemon.runners[0]!.unit('telephony')!.status().state).not.toBe('paused');
    const status = await ask(local, 'status');
    expect(status).toMatch(/^auth: Idle \(paused\)$/m);
    expect(status).toMatch(/^phone: At .* interval: 300$/m);
    // duo_watcher's bare seconds, on UDP only.
    expect(await ask(local, 'thread phone interval 30')).toBe(
      'P2Thread phone interval 30s from its next poll\n',
    );
    expect(daemon.runners[0]!.unit('telephony')!.status().interval_ms).toBe(30_000);
    // A Duo log's checkpoint is a time: shown, and set while the log is stopped.
    expect(await ask(local, 'checkpoint auth show')).toMatch(/^P0auth checkpoint \d{4}-\d\d-\d\dT[\d:.]+Z/);
    expect(await ask(local, 'checkpoint auth set yesterday')).toMatch(
      /^P5authentication: a checkpoint is a time/,
    );
    expect(await ask(local, 'checkpoint phone set 2026-11-30T08:00:00Z')).toMatch(
      /^P5telephony is idle: stop it first/,
    );
    expect(await ask(local, 'checkpoint auth set 2026-11-30T08:00:00Z')).toBe(
      'P2auth checkpoint set to 2026-11-30T08:00:00.000Z; it reads on from there when started\n',
    );
    expect(await ask(local, 'thread nosuch stop')).toBe('P5No such thread or unit: nosuch (see: help)\n');
    expect(await ask(local, 'thread auth start')).toBe('P2Thread auth started\n');
    expect(auth()).not.toBe('paused');
    expect(await ask(local, 'thread auth start')).toBe('P5Thread auth is already active.\n');
    // The day-file sink keeps its open files: rotate closes them, the next write reopens by name.
    expect(await ask(local, 'rotate')).toBe('P0Okay: reopened files\n');
    expect(await ask(local, 'newlog')).toBe('P0Okay: reopened files\n');
    expect(await ask(local, 'what')).toBe('P5Unrecognized command (see: help)\n');
    expect(await ask(local, 'help')).toMatch(
      /^P3Help yourself\n[\s\S]* {2}auth: Duo authentication log of source duo$/m,
    );
  });

  it('clears errors only on a clear from loopback; from elsewhere clear is answered with the status alone', async () => {
    const runner = daemon.runners[0]!;
    runner.lastError = 'earlier failure';
    expect(await ask(await client('127.0.0.2'), 'clear')).toMatch(/^P0Ready/);
    expect(runner.lastError).toBe('earlier failure');
    expect(await ask(await client(), 'clear')).toMatch(/^P0Ready/);
    expect(runner.lastError).toBeUndefined();
  });

  it('survives hostile datagrams: oversized, binary, empty', async () => {
    const remote = await client('127.0.0.2');
    remote.send(Buffer.alloc(4000, 0x73), daemon.ding!.port, '127.0.0.1');
    remote.send(Buffer.from([0xff, 0xfe, 0x00, 0x01]), daemon.ding!.port, '127.0.0.1');
    remote.send('42 ', daemon.ding!.port, '127.0.0.1');
    expect(await ask(remote, '9 s')).toMatch(/^9 P0Ready/);
  });
});

describe('UDP status of a source that failed for good', () => {
  it('answers P5 naming the dead thread, and shows its logs idle', async () => {
    const broken = new SourceRunner(
      {
        name: 'duo',
        async run() {
          throw new StateError('checkpoint duo/duo/authentication does not look like a Duo checkpoint');
        },
        status: () => ({ logs: { authentication: { state: 'idle', polls: 0, interval: 60_000 } } }),
      },
      {
        pipeline: testPipeline({ parser: new AutoParser(), sinks: [new MemorySink()] }),
        state: new MemoryStateStore(),
        limits: defaultLimits,
        log: memoryLogger(),
      },
    );
    await broken.run(new AbortController().signal);
    expect(statusAnswer([broken])).toBe('P5Dead thread: auth\n\nauth: Idle (failed)\n');
  });
});
