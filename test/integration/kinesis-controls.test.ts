import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { UnitControl } from '../../src/core/component.js';
import { gzipJson, rng, subscriptionMessage } from '../../src/demo/cwlogs.js';
import { memoryLogger } from '../../src/platform/log.js';
import { type Daemon, startDaemon } from '../../src/runtimes/daemon/daemon.js';
import { runCli } from '../../src/testing/cli.js';
import { dailyFileIds } from '../../src/testing/daily-files.js';
import { type KinesisEmulator, startKinesisEmulator } from '../../src/testing/kinesis-emulator.js';

const STREAM = 'ctl-stream';
const UNIT = `central/${STREAM}/shardId-000000000000`;
const TOKEN = 'ctl-t0ken-0123456789abcdef-0123';

let k: KinesisEmulator;
let dir: string;
let daemon: Daemon;
let statusUrl: string;
const log = memoryLogger();
const clients: Socket[] = [];
const r = rng(11);

async function waitFor(what: string, f: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await f())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Puts `count` CloudWatch Logs subscription records; returns their sequence numbers in order. */
async function putRecords(count: number, start: number): Promise<string[]> {
  const entries = Array.from({ length: count }, (_, i) => ({
    Data: gzipJson(subscriptionMessage({ kind: 'app', count: 2, start: start + i * 1000, r })),
    PartitionKey: `pk-${i}`,
  }));
  const res = await k.client.send(new PutRecordsCommand({ StreamName: STREAM, Records: entries }));
  expect(res.FailedRecordCount ?? 0).toBe(0);
  return res.Records!.map((x) => x.SequenceNumber!);
}

const ctl = (args: string[], env: Record<string, string> = { LOGFERRY_STATUS_TOKEN: TOKEN }) =>
  runCli(['ctl', '--status', statusUrl, ...args], { cwd: dir, env });

/** The same command over HTTP without the CLI, for the steps that test the daemon, not the client. */
async function control(command: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${statusUrl}/control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ command }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function unit(): UnitControl & { items: number; intervalMs: number; state: string } {
  return daemon.runners[0]!.source.units!()[0] as never;
}

async function udpClient(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  clients.push(s);
  await new Promise<void>((res) => s.bind(0, address, () => res()));
  return s;
}

function ask(s: Socket, text: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    s.once('message', (m) => resolve(m.toString('utf8')));
    s.send(text, daemon.ding!.port, '127.0.0.1');
  });
}

beforeAll(async () => {
  k = await startKinesisEmulator();
  dir = await mkdtemp(join(tmpdir(), 'logferry-ctl-'));
  await k.client.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  await waitFor('stream to be active', async () => {
    const s = await k.client.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    return s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  });
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  const config = configSchema.parse({
    state: { type: 'file', path: join(dir, 'state') },
    dead_letter: { type: 'file', path: join(dir, 'dead-letter') },
    sources: [
      {
        type: 'kinesis',
        name: 'central',
        stream: STREAM,
        parser: 'cloudwatch_logs',
        start_position: 'TRIM_HORIZON',
        poll_interval: '100ms',
        shard_refresh: '300ms',
        aws: {
          region: k.region,
          endpoint: k.endpoint,
          credentials: {
            access_key_id: k.credentials.accessKeyId,
            secret_access_key: k.credentials.secretAccessKey,
          },
        },
      },
    ],
    sinks: [{ type: 'daily_files', name: 'daily', path: join(dir, 'logs'), retention_days: 0, fsync: false }],
    daemon: {
      status_listen: '127.0.0.1:0',
      status_token: { file: join(dir, 'token') },
      udp: { host: '127.0.0.1', port: 0 },
    },
  });
  daemon = await startDaemon(config, { log });
  statusUrl = `http://127.0.0.1:${(daemon.server!.address() as AddressInfo).port}`;
  await waitFor('the shard unit', () => (daemon.runners[0]!.source.units?.() ?? []).length === 1);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await daemon?.stop();
  await k?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('logferry ctl against a daemon reading Kinesis', () => {
  it('refuses a caller without the token, with the server one-line reason and a non-zero exit', async () => {
    const res = await ctl(['status'], { LOGFERRY_STATUS_TOKEN: '' });
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(`logferry ctl: daemon at ${statusUrl}: missing or wrong bearer token\n`);
    expect(log.entries.some((l) => /^status API refused POST \/control: missing or wrong/.test(l.msg))).toBe(
      true,
    );
  });

  it('changes a shard interval at run time; /status and the UDP status show it', async () => {
    const res = await ctl(['--token-file', join(dir, 'token'), 'thread', UNIT, 'interval', '30s'], {});
    expect(res).toMatchObject({ code: 0, stdout: `Thread ${UNIT} interval 30s from its next poll\n` });
    expect(unit().intervalMs).toBe(30_000);
    const status = (await control('status')).body as { sources: { shards: Record<string, unknown> }[] };
    expect(status.sources[0]!.shards['shardId-000000000000']).toMatchObject({ interval_ms: 30_000 });
    expect(await ask(await udpClient('127.0.0.2'), 'status')).toMatch(
      new RegExp(`^${UNIT}: At \\d\\d:\\d\\d:\\d\\d up to .* count: \\d+ interval: 30$`, 'm'),
    );
    // The audit line names the command and the peer.
    expect(
      log.entries.some(
        (l) =>
          l.msg ===
          `control: thread ${UNIT} interval 30000ms by 127.0.0.1 over http: Thread ${UNIT} interval 30s from its next poll`,
      ),
    ).toBe(true);
    expect((await control(`thread ${UNIT} interval 100ms`)).status).toBe(200);
  });

  it('refuses bad commands with one line each: a bare number, a path-ish name, an unknown unit', async () => {
    const bare = await ctl(['thread', UNIT, 'interval', '30']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(
      /^logferry ctl: daemon at .*: interval: '30' is not a duration .*\(30s for 30 seconds\)\n$/,
    );
    const pathish = await control(`thread ${UNIT}/../../../etc/passwd stop`);
    expect(pathish.status).toBe(400);
    expect(pathish.body.error).toMatch(/not a thread or unit name/);
    expect(pathish.body.error).not.toContain('passwd');
    const unknown = await control('checkpoint central/other-stream/shardId-000000000000 show');
    expect(unknown).toEqual({
      status: 404,
      body: { error: 'No such thread or unit: central/other-stream/shardId-000000000000 (see: help)' },
    });
    expect(unit().state).not.toBe('paused');
  });

  it('shows the checkpoint, sets it only while stopped, and reads again from there', async () => {
    const seqs = await putRecords(5, Date.UTC(2026, 11, 1, 10, 0));
    await waitFor('five records delivered', () => unit().showCursor?.() === seqs[4]);
    expect((await ctl(['checkpoint', UNIT, 'show'])).stdout).toBe(`${UNIT} checkpoint ${seqs[4]}\n`);
    const running = await control(`checkpoint ${UNIT} set ${seqs[0]}`);
    expect(running.status).toBe(409);
    expect(running.body.error).toMatch(/stop it first/);

    expect((await control(`thread ${UNIT} stop`)).body.message).toBe(`Thread ${UNIT} terminated`);
    expect((await control(`checkpoint ${UNIT} set latest`)).body.error).toMatch(/Kinesis sequence number/);
    expect((await control(`checkpoint ${UNIT} set ${seqs[0]}`)).status).toBe(200);
    const before = unit().items;
    expect((await control(`thread ${UNIT} start`)).status).toBe(200);
    // Records 2..5 are read again (the day files' ids keep them single) and committed anew.
    await waitFor('the four records after the set checkpoint read again', () => unit().items - before === 4);
    expect(unit().showCursor?.()).toBe(seqs[4]);
    const ids = await dailyFileIds(join(dir, 'logs'));
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
  });

  it('takes controls over UDP from loopback only, with bare seconds as duo_watcher sent them', async () => {
    const remote = await udpClient('127.0.0.2');
    remote.send(`thread ${UNIT} stop`, daemon.ding!.port, '127.0.0.1');
    expect(await ask(remote, 'status')).toMatch(new RegExp(`^${UNIT}: At `, 'm'));
    expect(unit().state).not.toBe('paused');

    const local = await udpClient();
    expect(await ask(local, `7 thread ${UNIT} stop`)).toBe(`7 P2Thread ${UNIT} terminated\n`);
    expect(await ask(local, 'status')).toMatch(new RegExp(`^${UNIT}: Idle \\(paused\\)$`, 'm'));
    expect(await ask(local, `thread ${UNIT} interval 5`)).toBe(
      `P2Thread ${UNIT} interval 5s from its next poll\n`,
    );
    expect(unit().intervalMs).toBe(5000);
    expect(await ask(local, `thread ${UNIT} start`)).toBe(`P2Thread ${UNIT} started\n`);
    expect(await ask(local, `thread ${UNIT} interval 100ms`)).toMatch(/^P2/);
    local.send(Buffer.alloc(2000, 0x61), daemon.ding!.port, '127.0.0.1');
    expect(await ask(local, `thread ${UNIT}/.. stop`)).toMatch(/^P5not a thread or unit name/);
  });

  it('rotates: a day file moved away by logrotate is opened anew at its name', async () => {
    const folder = join(dir, 'logs', 'aws.cloudwatch_logs');
    const [file] = await readdir(folder);
    await rename(join(folder, file!), join(folder, `${file}.1`));
    expect((await ctl(['rotate'])).stdout).toBe('Okay: reopened daily\n');
    await putRecords(1, Date.UTC(2026, 11, 1, 10, 30));
    await waitFor('the new record in a new file', async () => (await readdir(folder)).includes(file!));
    // The file is there as soon as it is opened; its line may land a moment later.
    await waitFor('the new record written', async () => (await dailyFileIds(join(dir, 'logs'))).length >= 12);
    const ids = await dailyFileIds(join(dir, 'logs'));
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
  });
});
