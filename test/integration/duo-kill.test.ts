/**
 * Exactly-once under a real crash: `logferry run` pulls from the fake Duo into daily files and
 * is SIGKILLed mid-stream (between pages, wherever it happens to be: fetching, writing the files,
 * or about to write the checkpoint), then started again until it has everything. Each event
 * must be in the daily files exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvents } from '../../src/demo/duo-events.js';
import { FakeDuo } from '../../src/demo/duo-fake.js';
import { completeLines } from '../../src/testing/daily-files.js';

const root = join(import.meta.dirname, '../..');
const children: ChildProcess[] = [];
let dir: string;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function lines(): Promise<string[]> {
  const auth = join(dir, 'logs', 'auth');
  const out: string[] = [];
  for (const f of await readdir(auth).catch(() => [] as string[]))
    out.push(...completeLines(await readFile(join(auth, f), 'utf8')));
  return out;
}

function start(config: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/runtimes/cli/main.ts'),
      'run',
      '-c',
      config,
      '--status',
      'off',
      '--log-level',
      'silent',
    ],
    { cwd: root, stdio: 'ignore', env: { ...process.env, DUO_SKEY: fakeSkey } },
  );
  children.push(child);
  return child;
}

const fakeSkey = 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep';

describe('duo collector killed with SIGKILL mid-stream', () => {
  it('holds each event exactly once in the daily files after restarts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'duo-kill-'));
    // Slow pages so the kill lands while pages are still coming.
    const fake = new FakeDuo({ skey: fakeSkey, latencyMs: 150 });
    const endpoint = await fake.listen();
    const total = 6000;
    fake.add('authentication', makeEvents('authentication', total, Date.now() - 3_600_000, 0.25));
    const config = join(dir, 'duo.yaml');
    await writeFile(
      config,
      `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources:
  - name: duo
    type: duo
    host: ${fake.host}
    ikey: ${fake.ikey}
    skey: { env: DUO_SKEY }
    endpoint: ${endpoint}
    logs: { administrator: { enabled: false }, telephony: { enabled: false } }
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, 'logs')}
    retention_days: 0
    directories: { duo.authentication: auth }
`,
    );
    try {
      let kills = 0;
      for (let round = 0; round < 6; round++) {
        const child = start(config);
        const exited = new Promise((r) => child.once('exit', r));
        const before = (await lines()).length;
        // Kill once this run has written something but (likely) not everything; the last
        // round runs until everything is there.
        for (let i = 0; i < 600; i++) {
          const n = (await lines()).length;
          if (n >= total || (round < 2 && n > before)) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        child.kill('SIGKILL');
        await exited;
        kills++;
        if ((await lines()).length >= total && round >= 2) break;
      }
      const txids = (await lines()).map((l) => (JSON.parse(l) as { duo: { txid: string } }).duo.txid);
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(new Set(txids).size).toBe(total);
      expect(txids).toHaveLength(total);
    } finally {
      await fake.close();
    }
  });
});
