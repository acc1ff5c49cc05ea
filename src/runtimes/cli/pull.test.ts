import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateError } from '../../core/errors.js';
import { memoryLogger } from '../../core/log.js';
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

describe('logferry pull duo', () => {
  it('--demo pulls generated events from the in-process fake into the configured sinks, then nothing new', async () => {
    const { dir, file } = await demoConfig();
    const io = { progress: () => {}, log: memoryLogger() };
    const first = await pullDuo({ config: file, demo: true }, io);
    expect(first.errors).toEqual([]);
    expect(first.results.map((r) => [r.log, r.events])).toEqual([
      ['authentication', 1200],
      ['administrator', 60],
      ['telephony', 150],
    ]);
    expect(await countLines(join(dir, 'logs'))).toBe(1410);
    expect((await readdir(join(dir, 'logs'))).sort()).toEqual(['admin', 'auth', 'phone']);
    expect((await readdir(join(dir, 'state'))).length).toBe(3);
  });

  it('--since backfills from a date with a progress line, leaving the checkpoints alone', async () => {
    const { dir, file } = await demoConfig();
    const lines: string[] = [];
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const r = await pullDuo(
      { config: file, demo: true, since },
      { progress: (l) => lines.push(l), log: memoryLogger() },
    );
    const events = r.results.reduce((n, x) => n + x.events, 0);
    // About the last hour of the demo's three hours of events.
    expect(events).toBeGreaterThan(300);
    expect(events).toBeLessThan(1000);
    expect(lines.some((l) => /^authentication +\[#+\.*\] +\d+%/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/100%/);
    expect(await readdir(join(dir, 'state')).catch(() => [])).toEqual([]);
  });

  it('rejects a bad --since and a config without a duo source with one clear line', async () => {
    const { file } = await demoConfig();
    const io = { progress: () => {}, log: memoryLogger() };
    await expect(pullDuo({ config: file, demo: true, since: 'last tuesday' }, io)).rejects.toThrow(
      /--since last tuesday: write a date/,
    );
    await expect(pullDuo({}, io)).rejects.toThrow(/needs --config/);
  });

  it('refuses to run on a corrupt checkpoint (StateError, exit code 4) instead of starting over', async () => {
    const { dir, file } = await demoConfig();
    const io = { progress: () => {}, log: memoryLogger() };
    await pullDuo({ config: file, demo: true }, io);
    const cp = join(
      dir,
      'state',
      (await readdir(join(dir, 'state'))).find((f) => f.includes('authentication'))!,
    );
    await writeFile(cp, '{"v":1,"ts":17325');
    const err = await pullDuo({ config: file, demo: true }, io).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StateError);
    expect(exitCodeFor(err)).toBe(4);
    expect((err as Error).message).toMatch(/corrupt.*refusing to start/);
  });
});
