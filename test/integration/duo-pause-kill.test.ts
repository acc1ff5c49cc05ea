/**
 * One Duo log paused through the control API while the daemon runs, then a SIGKILL: `logferry run`
 * pulls the authentication and telephony logs from the fake Duo into daily files; telephony is
 * paused mid-run (its checkpoint must not move while paused, authentication must go on), the
 * daemon is killed and started again, telephony paused again and then resumed. Every event must
 * be in the daily files exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvents } from '../../src/demo/duo-events.js';
import { FakeDuo } from '../../src/demo/duo-fake.js';
import { checkpointKey } from '../../src/sources/duo/checkpoint.js';
import { completeLines } from '../../src/testing/daily-files.js';

const root = join(import.meta.dirname, '../..');
const fakeSkey = 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep';
const children: ChildProcess[] = [];
let dir: string;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: () => Promise<boolean>, tries = 1500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await what()) return;
    await pause(20);
  }
  throw new Error(`gave up waiting for ${what.toString()}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** The ids in one log's day files: authentication's txid, telephony's telephony_id. */
async function ids(folder: 'auth' | 'phone'): Promise<string[]> {
  const out: string[] = [];
  const path = join(dir, 'logs', folder);
  for (const f of await readdir(path).catch(() => [] as string[]))
    for (const line of completeLines(await readFile(join(path, f), 'utf8'))) {
      const duo = (JSON.parse(line) as { duo: { txid?: string; telephony_id?: string } }).duo;
      out.push(duo.telephony_id ?? duo.txid!);
    }
  return out;
}

const telephonyCheckpoint = () =>
  readFile(join(dir, 'state', `${encodeURIComponent(checkpointKey('duo', 'telephony'))}.json`), 'utf8').catch(
    () => '',
  );

function start(config: string, port: number): ChildProcess {
  const main = join(root, 'src/runtimes/cli/main.ts');
  const args = ['--import', 'tsx', main, 'run', '-c', config, '--status', `127.0.0.1:${port}`];
  const child = spawn(process.execPath, [...args, '--log-level', 'silent'], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, DUO_SKEY: fakeSkey },
  });
  children.push(child);
  return child;
}

async function control(port: number, action: 'pause' | 'resume'): Promise<void> {
  await until(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/sources/duo/units/telephony/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    }).catch(() => undefined);
    // 404 until the daemon has started the log's unit.
    return res?.status === 200;
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** Waits until the telephony checkpoint has not changed for a while (the slice in flight is done). */
async function settledCheckpoint(): Promise<string> {
  let last = await telephonyCheckpoint();
  for (let still = 0; still < 5; ) {
    await pause(200);
    const now = await telephonyCheckpoint();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

describe('duo collector with one log paused, killed with SIGKILL and restarted', () => {
  it('keeps the paused log where it was, lets the others go on, and holds every event once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'duo-pause-kill-'));
    // Slow, small pages so the pause and the kill land while pages are still coming.
    const fake = new FakeDuo({ skey: fakeSkey, latencyMs: 200 });
    const endpoint = await fake.listen();
    const from = Date.now() - 3_600_000;
    const auth = makeEvents('authentication', 8000, from, 0.25);
    const phone = makeEvents('telephony', 3000, from, 1);
    fake.add('authentication', auth);
    fake.add('telephony', phone);
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
    limit: 250
    logs: { administrator: { enabled: false } }
sinks:
  - name: daily
    type: daily_files
    path: ${join(dir, 'logs')}
    retention_days: 0
    directories: { duo.authentication: auth, duo.telephony: phone }
`,
    );
    try {
      const port = await freePort();
      // Run 1: pause telephony once some of it is in, watch authentication go on, then kill.
      const first = start(config, port);
      await until(async () => (await ids('phone')).length > 0);
      await control(port, 'pause');
      const held = await settledCheckpoint();
      const phoneHeld = (await ids('phone')).length;
      const authAtPause = (await ids('auth')).length;
      await until(async () => (await ids('auth')).length > authAtPause);
      expect(await telephonyCheckpoint()).toBe(held);
      expect((await ids('phone')).length).toBe(phoneHeld);
      await kill(first);
      expect((await ids('phone')).length).toBeLessThan(phone.length);

      // Run 2: a pause is not kept across a restart; pause again, then resume and let it finish.
      const second = start(config, port);
      await control(port, 'pause');
      const heldAgain = await settledCheckpoint();
      await until(async () => (await ids('auth')).length >= auth.length);
      expect(await telephonyCheckpoint()).toBe(heldAgain);
      await control(port, 'resume');
      await until(async () => (await ids('phone')).length >= phone.length);
      await kill(second);

      for (const [got, want] of [
        [await ids('auth'), auth],
        [await ids('phone'), phone],
      ] as const) {
        expect(new Set(got).size).toBe(want.length);
        expect(got).toHaveLength(want.length);
        expect(new Set(got)).toEqual(new Set(want.map((e) => e.id)));
      }
    } finally {
      await fake.close();
    }
  });
});
