import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOGFERRY_BIN } from '../../testing/cli.js';

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(what: string, f: () => Promise<boolean>, log: () => string): Promise<void> {
  const start = Date.now();
  while (!(await f())) {
    if (Date.now() - start > 50_000) throw new Error(`timed out waiting for ${what}; daemon said: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('logferry run and SIGHUP', () => {
  it('reopens the day files on SIGHUP (logrotate, systemctl reload), and keeps running', async () => {
    dir = await mkdtemp(join(tmpdir(), 'logferry-hup-'));
    await writeFile(
      join(dir, 'cfg.yaml'),
      `state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dead')} }
sources: [{ type: demo, name: demo, interval: 200ms, events_per_record: 1, kinds: [app] }]
sinks: [{ type: daily_files, name: daily, path: ${join(dir, 'logs')}, day_from: arrival, fsync: false }]
`,
    );
    const child = spawn(
      process.execPath,
      [LOGFERRY_BIN, 'run', '-c', join(dir, 'cfg.yaml'), '--status', 'off'],
      {
        cwd: dir,
        env: { ...process.env, LOGFERRY_FROM_SOURCE: '1', LOGFERRY_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      const folder = join(dir, 'logs', 'aws.cloudwatch_logs');
      const files = () => readdir(folder).catch(() => [] as string[]);
      await until(
        'a day file',
        async () => (await files()).length > 0,
        () => stderr,
      );
      const [file] = await files();
      await rename(join(folder, file!), join(folder, `${file}.1`));
      child.kill('SIGHUP');
      await until(
        'the day file opened anew',
        async () => (await files()).includes(file!),
        () => stderr,
      );
      expect(stderr).toContain('rotate: reopened daily');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
