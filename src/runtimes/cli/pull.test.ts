import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateError } from '../../core/errors.js';
import { makeEvents } from '../../demo/duo-events.js';
import { FakeDuo } from '../../demo/duo-fake.js';
import { memoryLogger } from '../../platform/log.js';
import { exitCodeFor } from './exit.js';
import { pullDuo } from './pull.js';

async function demoConfig(): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pull-duo-'));
  const file = join(dir, 'duo.yaml');
  await writeFile(
    file,
    `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources:
  - { name: duo, type: duo, host: api-12345678.duosecurity.com, ikey: DIXXXXXXXXXXXXXXXXXX, skey: { env: NOT_NEEDED_IN_DEMO } }
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, 'logs')}
    retention_days: 0
    directories: { duo.authentication: auth, duo.administrator: admin, duo.telephony: phone }
`,
  );
  return { dir, file };
}

async function countLines(dir: string): Promise<number> {
  let n = 0;
  for (const d of await readdir(dir).catch(() => [] as string[]))
    for (const f of await readdir(join(dir, d)))
      n += (await readFile(join(dir, d, f), 'utf8')).split('\n').filter(Boolean).length;
  return n;
}

/** Runs `fn` with standard output captured (the stdout sink writes NDJSON there). */
async function printed<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  let text = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((
    chunk: string | Uint8Array,
    ...rest: unknown[]
  ) => {
    text += String(chunk);
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write);
  try {
    const value = await fn();
    return { value, lines: text.split('\n').filter(Boolean) };
  } finally {
    spy.mockRestore();
  }
}

/** A config whose duo source reads a running FakeDuo holding a few events of each log. */
async function fakeDuoConfig(fake: FakeDuo, endpoint: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pull-duo-'));
  const file = join(dir, 'duo.yaml');
  await writeFile(
    file,
    `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources:
  - { name: duo, type: duo, host: ${fake.host}, ikey: ${fake.ikey}, skey: ${fake.skey}, endpoint: "${endpoint}" }
sinks:
  - { name: daily, type: daily_files, path: ${join(dir, 'logs')}, retention_days: 0 }
`,
  );
  return { dir, file };
}

const fakes: FakeDuo[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const f of fakes.splice(0)) await f.close();
});

async function startFake(): Promise<{ fake: FakeDuo; endpoint: string }> {
  const fake = new FakeDuo();
  fakes.push(fake);
  const base = Date.now() - 3_600_000;
  fake.add('authentication', makeEvents('authentication', 30, base, 1000));
  fake.add('administrator', makeEvents('administrator', 4, base, 60_000));
  fake.add('telephony', makeEvents('telephony', 3, base, 60_000));
  return { fake, endpoint: await fake.listen() };
}

describe('logferry pull duo', () => {
  it('--demo -c real.yaml prints the generated events and leaves the configured sinks, checkpoints and dead letters alone', async () => {
    const { dir, file } = await demoConfig();
    const io = { progress: () => {}, log: memoryLogger() };
    const { value: first, lines } = await printed(() => pullDuo({ config: file, demo: true }, io));
    expect(first.errors).toEqual([]);
    expect(first.results.map((r) => [r.log, r.events])).toEqual([
      ['authentication', 1200],
      ['administrator', 60],
      ['telephony', 150],
    ]);
    expect(lines).toHaveLength(1410);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      labels: { logferry_demo: true },
      event: { provider: 'duo' },
    });
    expect(await readdir(dir)).toEqual(['duo.yaml']);
    // A second demo starts over: it has its own state, not the one the first left behind.
    const { value: second } = await printed(() => pullDuo({ config: file, demo: true }, io));
    expect(second.results.map((r) => r.events)).toEqual([1200, 60, 150]);
  });

  it('--demo --to-sinks delivers the labelled events to the configured sinks, still without real checkpoints', async () => {
    const { dir, file } = await demoConfig();
    const io = { progress: () => {}, log: memoryLogger() };
    const r = await pullDuo({ config: file, demo: true, toSinks: true }, io);
    expect(r.results.map((x) => x.events)).toEqual([1200, 60, 150]);
    expect(await countLines(join(dir, 'logs'))).toBe(1410);
    expect((await readdir(join(dir, 'logs'))).sort()).toEqual(['admin', 'auth', 'phone']);
    expect(await readdir(join(dir, 'state')).catch(() => [])).toEqual([]);
    await expect(pullDuo({ config: file, toSinks: true }, io)).rejects.toThrow(/--to-sinks goes with --demo/);
  });

  it('--since backfills from a date with a progress line, leaving the checkpoints alone', async () => {
    const { dir, file } = await demoConfig();
    const lines: string[] = [];
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const { value: r } = await printed(() =>
      pullDuo({ config: file, demo: true, since }, { progress: (l) => lines.push(l), log: memoryLogger() }),
    );
    const events = r.results.reduce((n, x) => n + x.events, 0);
    // About the last hour of the demo's three hours of events.
    expect(events).toBeGreaterThan(300);
    expect(events).toBeLessThan(1000);
    expect(lines.some((l) => /^authentication +\[#+\.*\] +\d+%/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/100%/);
    expect(await readdir(join(dir, 'state')).catch(() => [])).toEqual([]);
  });

  it('--stdout works from the DUOPULL_* variables alone, as the Go function did with DEBUGDUO=1', async () => {
    const { fake, endpoint } = await startFake();
    const env = {
      DUOPULL_HOST: fake.host,
      DUOPULL_IKEY: fake.ikey,
      DUOPULL_SKEY: fake.skey,
      DUOPULL_ENDPOINT: endpoint,
    };
    // The secret key is read from the process environment, as in the Lambda.
    vi.stubEnv('DUOPULL_SKEY', fake.skey);
    const io = { progress: () => {}, log: memoryLogger() };
    const { value, lines } = await printed(() => pullDuo({ stdout: true }, io, env));
    expect(value.results.map((r) => r.events)).toEqual([30, 4, 3]);
    expect(lines).toHaveLength(37);
    expect(lines.join('\n')).not.toContain(fake.skey);
    await expect(pullDuo({ stdout: true }, io, {})).rejects.toThrow(/DUOPULL_\* variables/);
  });

  it('rejects a bad --since and a config without a duo source with one clear line', async () => {
    const { file } = await demoConfig();
    const io = { progress: () => {}, log: memoryLogger() };
    await expect(pullDuo({ config: file, demo: true, since: 'last tuesday' }, io)).rejects.toThrow(
      /--since last tuesday: write a date/,
    );
    await expect(pullDuo({}, io, {})).rejects.toThrow(/needs --config/);
  });

  it('refuses to run on a corrupt checkpoint (StateError, exit code 4) instead of starting over', async () => {
    const { fake, endpoint } = await startFake();
    const { dir, file } = await fakeDuoConfig(fake, endpoint);
    const io = { progress: () => {}, log: memoryLogger() };
    const first = await pullDuo({ config: file }, io);
    expect(first.results.map((r) => r.events)).toEqual([30, 4, 3]);
    const cp = join(
      dir,
      'state',
      (await readdir(join(dir, 'state'))).find((f) => f.includes('authentication'))!,
    );
    await writeFile(cp, '{"v":1,"ts":17325');
    const err = await pullDuo({ config: file }, io).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StateError);
    expect(exitCodeFor(err)).toBe(4);
    expect((err as Error).message).toMatch(/corrupt.*refusing to start/);
  });
});
