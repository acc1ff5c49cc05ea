import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { cleanDayFiles } from './clean.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-clean-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (sinks: unknown[]) => configSchema.parse({ sources: [{ type: 'demo', name: 'demo' }], sinks });

/** duo_watcher's layout: admin/auth/phone folders of %y%m%d day files, plus each log's state file. */
async function duoWatcherTree(days: string[]): Promise<void> {
  const quiet = new Date('2024-01-01T00:00:00Z');
  for (const d of ['admin', 'auth', 'phone']) {
    await mkdir(join(dir, d));
    for (const name of [...days, 'state']) {
      await writeFile(join(dir, d, name), '{}\n');
      await utimes(join(dir, d, name), quiet, quiet);
    }
  }
}

describe('logferry clean', () => {
  it('deletes the day files older than --days in every folder, as the clean cron did, and keeps state files', async () => {
    await duoWatcherTree(['241125', '241126', '241127']);
    const cfg = config([{ type: 'daily_files', name: 'duo-files', path: dir, file_name: '%y%m%d' }]);
    const removed = await cleanDayFiles(cfg, { days: 370, today: '2025-12-01' });
    // 370 days before 2025-12-01 is 2024-11-26: that day is kept, the one before goes.
    expect(removed.map((p) => p.slice(dir.length + 1)).sort()).toEqual([
      'admin/241125',
      'auth/241125',
      'phone/241125',
    ]);
    expect((await readdir(join(dir, 'auth'))).sort()).toEqual(['241126', '241127', 'state']);
  });

  it('lists without deleting on a dry run, and names a sink that does not exist', async () => {
    await duoWatcherTree(['241125']);
    const cfg = config([{ type: 'daily_files', name: 'duo-files', path: dir, file_name: '%y%m%d' }]);
    expect(await cleanDayFiles(cfg, { days: 370, today: '2025-12-01', dryRun: true })).toHaveLength(3);
    expect((await readdir(join(dir, 'auth'))).sort()).toEqual(['241125', 'state']);
    await expect(cleanDayFiles(cfg, { sink: 'nope' })).rejects.toThrow("no daily_files sink named 'nope'");
    await expect(cleanDayFiles(config([{ type: 'stdout', name: 'out' }]))).rejects.toThrow(
      'the config has no daily_files sink to clean',
    );
  });
});

describe('logferry clean (the command)', () => {
  it('lists what it would delete on a dry run and exits 0', async () => {
    await duoWatcherTree(['241125']);
    await writeFile(
      join(dir, 'cfg.yaml'),
      `sources: [{ name: d, type: demo }]\nsinks: [{ name: files, type: daily_files, path: ${dir}, file_name: '%y%m%d' }]\n`,
    );
    const r = spawnSync(
      process.execPath,
      [
        join(import.meta.dirname, '../../../bin/logferry.mjs'),
        'clean',
        '-c',
        join(dir, 'cfg.yaml'),
        '--days',
        '30',
        '--dry-run',
      ],
      { env: { ...process.env, LOGFERRY_FROM_SOURCE: '1' } },
    );
    expect(r.status).toBe(0);
    expect(r.stdout.toString().trim().split('\n').sort()).toEqual(
      ['admin', 'auth', 'phone'].map((d) => `would remove ${join(dir, d, '241125')}`),
    );
    expect((await readdir(join(dir, 'auth'))).sort()).toEqual(['241125', 'state']);
  });

  it('refuses --days that is not a whole number, with exit code 2', async () => {
    await writeFile(
      join(dir, 'cfg.yaml'),
      `sources: [{ name: d, type: demo }]\nsinks: [{ name: files, type: daily_files, path: ${dir} }]\n`,
    );
    const r = spawnSync(
      process.execPath,
      [
        join(import.meta.dirname, '../../../bin/logferry.mjs'),
        'clean',
        '-c',
        join(dir, 'cfg.yaml'),
        '--days',
        'x',
      ],
      { env: { ...process.env, LOGFERRY_FROM_SOURCE: '1' } },
    );
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toBe(
      'logferry: config: --days x: write a whole number of days, at least 1\n',
    );
  });
});
