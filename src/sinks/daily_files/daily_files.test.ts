import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogEvent } from '../../core/event.js';
import { finalizeEvent } from '../../core/pipeline.js';
import { MAX_UNCOMMITTED_EVENTS, REPLAY_GUARD_EVENTS, REPLAY_WRITERS } from '../../core/uncommitted.js';
import { memoryLogger } from '../../platform/log.js';
import { FileStateStore } from '../../state/file/index.js';
import { DailyFilesSink, MAX_IDS_PER_FILE } from './index.js';
import { marksKey, STALE_MARK_MS } from './replay-marks.js';
import { dailyFilesSinkSchema } from './schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-daily-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sink(extra: Record<string, unknown> = {}) {
  return new DailyFilesSink(
    dailyFilesSinkSchema.parse({ name: 'daily', type: 'daily_files', path: dir, ...extra }),
  );
}

function ev(dataset: string, iso: string, n: number): LogEvent {
  return finalizeEvent(
    { dataset, timestamp: Date.parse(iso), doc: { n }, idParts: [dataset, iso, n] },
    { source: 't', type: 'test', ref: 'x' },
  );
}

async function read(path: string): Promise<{ n: number }[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('daily files sink', () => {
  it('writes one folder per dataset and one file per UTC day', async () => {
    const s = sink({ directories: { 'duo.authentication': 'auth' } });
    const failures = await s.write([
      ev('duo.authentication', '2026-11-24T23:59:59Z', 1),
      ev('duo.authentication', '2026-11-25T00:00:00Z', 2),
      ev('aws.cloudwatch_logs', '2026-11-25T10:00:00Z', 3),
    ]);
    await s.close();
    expect(failures).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['auth', 'aws.cloudwatch_logs']);
    expect((await readdir(join(dir, 'auth'))).sort()).toEqual([
      'auth-2026-11-24.jsonl',
      'auth-2026-11-25.jsonl',
    ]);
    expect(await read(join(dir, 'auth', 'auth-2026-11-25.jsonl'))).toMatchObject([{ n: 2 }]);
  });

  it('writes big writes of any script byte for byte, also two files written at once', async () => {
    const s = sink();
    const text = (n: number) => `ü€😀"\\\u2028 ${'x'.repeat(n % 7)}`.repeat(200);
    const batch = (dataset: string) =>
      Array.from({ length: 300 }, (_, n) =>
        finalizeEvent(
          { dataset, timestamp: Date.parse('2026-11-25T10:00:00Z'), doc: { n, text: text(n) }, idParts: [n] },
          { source: 't', type: 'test', ref: 'x' },
        ),
      );
    const [a, b] = [batch('a'), batch('b')];
    expect(await Promise.all([s.write(a), s.write(b)])).toEqual([[], []]);
    expect(await s.write(batch('a'))).toEqual([]);
    await s.close();
    for (const [name, events] of [['a', a] as const, ['b', b] as const]) {
      const file = await readFile(join(dir, name, `${name}-2026-11-25.jsonl`), 'utf8');
      expect(file).toBe(events.map((e) => `${JSON.stringify(e.doc)}\n`).join(''));
    }
  });

  it('writes an event again as no new line, also after a restart', async () => {
    const events = [ev('d', '2026-11-25T01:00:00Z', 1), ev('d', '2026-11-25T01:00:01Z', 2)];
    const a = sink();
    await a.write(events);
    await a.write(events);
    await a.close();
    const b = sink();
    await b.write([...events, ev('d', '2026-11-25T01:00:02Z', 3)]);
    await b.close();
    expect((await read(join(dir, 'd', 'd-2026-11-25.jsonl'))).map((l) => l.n)).toEqual([1, 2, 3]);
  });

  it('after a restart, recognizes every event a crash can replay (the uncommitted bound), however long the lines', async () => {
    // What a crash replays: each writer's slice not yet committed, the cap in events each.
    const replayable = MAX_UNCOMMITTED_EVENTS * REPLAY_WRITERS;
    const pad = 'x'.repeat(200);
    const events = Array.from({ length: replayable }, (_, n) =>
      finalizeEvent(
        { dataset: 'd', timestamp: Date.parse('2026-11-25T01:00:00Z'), doc: { n, pad }, idParts: ['d', n] },
        { source: 't', type: 'test', ref: 'x' },
      ),
    );
    const a = sink({ fsync: false, dedup_scan_bytes: 4096 });
    expect(await a.write(events)).toEqual([]);
    await a.close();
    const b = sink({ fsync: false, dedup_scan_bytes: 4096 });
    expect(await b.write(events)).toEqual([]);
    await b.close();
    expect(await read(join(dir, 'd', 'd-2026-11-25.jsonl'))).toHaveLength(replayable);
    // An open file trims its ids to half of the most it keeps: that half still covers the bound.
    expect(MAX_IDS_PER_FILE / 2).toBeGreaterThanOrEqual(replayable);
  });

  it('after a restart, still recognizes a replay that comes late, behind more new events than it keeps ids for', async () => {
    // Two units: one replays its uncommitted slice only after the other wrote a large backlog.
    const at = Date.parse('2026-11-25T01:00:00Z');
    const mk = (n: number) =>
      finalizeEvent(
        { dataset: 'd', timestamp: at, doc: { n }, idParts: ['d', n] },
        { source: 't', type: 'test', ref: 'x' },
      );
    const slice = Array.from({ length: 500 }, (_, n) => mk(n));
    const a = sink({ fsync: false });
    expect(await a.write(slice)).toEqual([]);
    await a.close();
    const b = sink({ fsync: false });
    const backlog = Array.from({ length: MAX_IDS_PER_FILE + 10 }, (_, n) => mk(1_000_000 + n));
    for (let i = 0; i < backlog.length; i += 5000)
      expect(await b.write(backlog.slice(i, i + 5000))).toEqual([]);
    expect(await b.write(slice)).toEqual([]);
    await b.close();
    expect(await read(join(dir, 'd', 'd-2026-11-25.jsonl'))).toHaveLength(500 + backlog.length);
  });

  describe('replay marks: a writer that has not committed is recognized however far back it wrote', () => {
    const at = Date.parse('2026-11-25T01:00:00Z');
    const mk = (n: number, pad = '') =>
      finalizeEvent(
        { dataset: 'd', timestamp: at, doc: { n, pad }, idParts: ['d', n] },
        { source: 't', type: 'test', ref: 'x' },
      );
    /** The daemon's checkpoint store, which keeps the marks beside the checkpoints. */
    const state = () => new FileStateStore(join(dir, 'state'));
    const marks = async () =>
      (await state().get<{ files: Record<string, { writers: Record<string, number> }> }>(marksKey('daily')))!;
    const sink = (extra: Record<string, unknown> = {}, log?: unknown) =>
      new DailyFilesSink(
        dailyFilesSinkSchema.parse({ name: 'daily', type: 'daily_files', path: join(dir, 'logs'), ...extra }),
        { state: state(), log: log as never },
      );
    const file = () => join(dir, 'logs', 'd', 'd-2026-11-25.jsonl');
    /** More than the tail a guard reads without marks: REPLAY_GUARD_EVENTS events past 32 KiB. */
    async function writeMuch(s: DailyFilesSink, writer: string, from: number): Promise<number> {
      const n = REPLAY_GUARD_EVENTS + 20_000;
      for (let i = 0; i < n; i += 5000)
        expect(
          await s.write(
            Array.from({ length: 5000 }, (_, k) => mk(from + i + k, 'x'.repeat(200))),
            { writer },
          ),
        ).toEqual([]);
      return n;
    }

    it('after a crash, while other writers wrote more than the guard keeps (the soak test saw 2,000 duplicates)', async () => {
      const slice = Array.from({ length: 2000 }, (_, n) => mk(n));
      const a = sink({ dedup_scan_bytes: 32 * 1024 });
      // Shard A wrote its first chunk and had not committed it when the process died; B went on.
      expect(await a.write(slice, { writer: 'A' })).toEqual([]);
      const more = await writeMuch(a, 'B', 1_000_000);
      await a.committed('B');
      // No close: the process is killed. What is on disk is what it left.
      expect(Object.keys((await marks()).files['d/d-2026-11-25.jsonl']!.writers)).toEqual(['A']);
      const b = sink({ dedup_scan_bytes: 32 * 1024 });
      expect(await b.write(slice, { writer: 'A' })).toEqual([]);
      await b.committed('A');
      await b.close();
      expect(await read(file())).toHaveLength(2000 + more);
      // Once A committed, nothing is left to guard: the marks are gone.
      expect(await state().get(marksKey('daily'))).toBeUndefined();
    });

    it('keeps a writer marked until it commits, also across a second crash during its replay', async () => {
      const slice = Array.from({ length: 1000 }, (_, n) => mk(n));
      const a = sink({ dedup_scan_bytes: 4096 });
      expect(await a.write(slice, { writer: 'A' })).toEqual([]);
      const b = sink({ dedup_scan_bytes: 4096 });
      // The replay after the first crash writes nothing new, then more comes before the next crash.
      expect(await b.write([...slice, mk(5000)], { writer: 'A' })).toEqual([]);
      const more = await writeMuch(b, 'B', 1_000_000);
      const c = sink({ dedup_scan_bytes: 4096 });
      expect(await c.write([...slice, mk(5000)], { writer: 'A' })).toEqual([]);
      await c.close();
      expect(await read(file())).toHaveLength(1001 + more);
    });

    it('recognizes a retry of a writer that has not committed after other writers filled the ids it keeps', async () => {
      const s = sink({ dedup_scan_bytes: 4096 });
      const slice = Array.from({ length: 100 }, (_, n) => mk(n));
      expect(await s.write(slice, { writer: 'A' })).toEqual([]);
      const backlog = Array.from({ length: MAX_IDS_PER_FILE + 10 }, (_, n) => mk(1_000_000 + n));
      for (let i = 0; i < backlog.length; i += 5000)
        expect(await s.write(backlog.slice(i, i + 5000), { writer: 'B' })).toEqual([]);
      expect(await s.write(slice, { writer: 'A' })).toEqual([]);
      await s.close();
      expect(await read(file())).toHaveLength(100 + backlog.length);
    });

    it('ignores the marks of a file that was replaced (rotated away) and of a file retention removed', async () => {
      const a = sink({ dedup_scan_bytes: 4096, retention_days: 1 });
      expect(await a.write([mk(1)], { writer: 'A' })).toEqual([]);
      await a.close();
      await rm(file());
      const b = sink({ dedup_scan_bytes: 4096 });
      // `d` is a writer the first run knew: its mark is of the file removed, not of this one.
      expect(await b.write([mk(1), mk(2)], { writer: 'A' })).toEqual([]);
      await b.close();
      expect((await read(file())).map((l) => l.n)).toEqual([1, 2]);
      const old = new Date('2026-11-25T12:00:00Z');
      await utimes(file(), old, old);
      const c = sink({ dedup_scan_bytes: 4096, retention_days: 1 });
      await c.applyRetention('2026-12-01');
      await c.close();
      expect(await state().get(marksKey('daily'))).toBeUndefined();
    });

    it('says once that marks it cannot use are ignored, and still writes (guarding the tail)', async () => {
      await state().put(marksKey('daily'), {
        version: 1,
        files: { 'd/x': { file: '1:2', writers: { A: -5 } } },
      });
      const warnings: string[] = [];
      const log = { ...memoryLogger(), warn: (_: unknown, msg: string) => void warnings.push(msg) };
      const s = sink({}, log);
      expect(await s.write([mk(1)], { writer: 'A' })).toEqual([]);
      expect(await s.write([mk(1), mk(2)], { writer: 'A' })).toEqual([]);
      // A second day file opened: still one warning.
      expect(await s.write([ev('e', '2026-11-26T00:00:00Z', 3)], { writer: 'A' })).toEqual([]);
      await s.close();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^replay marks 'daily_files\/daily\/replay-marks' ignored \(not valid: .*\); reading only the tail/,
      );
      expect(await read(file())).toHaveLength(2);
    });

    it('drops marks of a crashed run whose writer has not come back an hour after start', async () => {
      const a = sink({ dedup_scan_bytes: 4096 });
      expect(await a.write([mk(1)], { writer: 'gone' })).toEqual([]);
      expect(await a.write([mk(2)], { writer: 'A' })).toEqual([]);
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
      try {
        const b = sink({ dedup_scan_bytes: 4096 });
        expect(await b.write([mk(2)], { writer: 'A' })).toEqual([]);
        expect(Object.keys((await marks()).files['d/d-2026-11-25.jsonl']!.writers).sort()).toEqual([
          'A',
          'gone',
        ]);
        vi.setSystemTime(Date.now() + STALE_MARK_MS + 1);
        expect(await b.write([mk(3)], { writer: 'B' })).toEqual([]);
        await b.close();
        expect(Object.keys((await marks()).files['d/d-2026-11-25.jsonl']!.writers).sort()).toEqual([
          'A',
          'B',
        ]);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  it('keeps every line whole when many writers append at once to a file a crash left torn', async () => {
    // The race (two opens each cutting a "torn" line from a stale read) shows only sometimes:
    // try it on several fresh files.
    for (let round = 0; round < 8; round++) {
      const folder = `d${round}`;
      const path = join(dir, folder, `${folder}-2026-11-25.jsonl`);
      await mkdir(join(dir, folder));
      await writeFile(path, `${JSON.stringify(ev(folder, '2026-11-25T00:00:00Z', -1).doc)}\n{"torn":`);
      const s = sink({ fsync: false });
      const writers = Array.from({ length: 20 }, (_, w) =>
        s.write(Array.from({ length: 50 }, (_, i) => ev(folder, '2026-11-25T01:00:00Z', w * 1000 + i))),
      );
      expect((await Promise.all(writers)).flat()).toEqual([]);
      await s.close();
      const lines = await read(path);
      expect(lines).toHaveLength(1001);
      expect(new Set(lines.map((l) => l.n)).size).toBe(1001);
    }
  });

  it('cuts a torn last line left by a crash, then writes the event whole', async () => {
    const e1 = ev('d', '2026-11-25T01:00:00Z', 1);
    const e2 = ev('d', '2026-11-25T01:00:01Z', 2);
    const path = join(dir, 'd', 'd-2026-11-25.jsonl');
    await mkdir(join(dir, 'd'));
    await writeFile(path, `${JSON.stringify(e1.doc)}\n`);
    await appendFile(path, JSON.stringify(e2.doc).slice(0, 20));
    const s = sink();
    await s.write([e1, e2]);
    await s.close();
    expect((await read(path)).map((l) => l.n)).toEqual([1, 2]);
  });

  it('deletes days older than the retention and keeps the rest', async () => {
    await mkdir(join(dir, 'd'));
    const today = new Date().toISOString().slice(0, 10);
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);
    const recent = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    for (const day of [old, recent]) await writeFile(join(dir, 'd', `d-${day}.jsonl`), '{}\n');
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await utimes(join(dir, 'd', `d-${old}.jsonl`), longAgo, longAgo);
    // Old events written just now (a backfill) stay until the file goes quiet.
    await writeFile(join(dir, 'd', 'd-2019-01-01.jsonl'), '{}\n');
    await writeFile(join(dir, 'd', 'notes.txt'), 'not a day file');
    const s = sink({ retention_days: 30 });
    await s.write([ev('d', `${today}T00:00:00Z`, 1)]);
    await s.close();
    expect((await readdir(join(dir, 'd'))).sort()).toEqual(
      ['d-2019-01-01.jsonl', `d-${recent}.jsonl`, `d-${today}.jsonl`, 'notes.txt'].sort(),
    );
  });

  it('reports a write it cannot do as retryable, per event', async () => {
    await writeFile(join(dir, 'd'), 'a file where the folder should be');
    const s = sink();
    const failures = await s.write([ev('d', '2026-11-25T01:00:00Z', 1), ev('e', '2026-11-25T01:00:00Z', 2)]);
    await s.close();
    expect(failures.map((f) => [f.index, f.retryable])).toEqual([[0, true]]);
    expect(failures[0]!.error.message).toMatch(/cannot write .*d-2026-11-25\.jsonl/);
  });

  it('keeps every dataset one folder below its root, and refuses one that is . or ..', async () => {
    const root = join(dir, 'root');
    const s = new DailyFilesSink(
      dailyFilesSinkSchema.parse({ name: 'daily', type: 'daily_files', path: root }),
    );
    const failures = await s.write([
      ev('../../outside/x', '2026-11-25T01:00:00Z', 1),
      ev('..', '2026-11-25T01:00:00Z', 2),
      ev('.', '2026-11-25T01:00:00Z', 3),
      ev('constructor', '2026-11-25T01:00:00Z', 4),
      ev('app', '2026-11-25T01:00:00Z', 5),
    ]);
    await s.close();
    expect(await readdir(dir)).toEqual(['root']);
    expect((await readdir(root)).sort()).toEqual(['.._.._outside_x', 'app', 'constructor']);
    expect(failures.map((f) => [f.index, f.retryable, f.error.message])).toEqual([
      [1, false, 'dataset ".." cannot be used as a name'],
      [2, false, 'dataset "." cannot be used as a name'],
    ]);
  });

  it('refuses . and .. as configured folder names', () => {
    for (const d of ['.', '..'])
      expect(
        dailyFilesSinkSchema.safeParse({
          name: 'daily',
          type: 'daily_files',
          path: dir,
          directories: { app: d },
        }).success,
      ).toBe(false);
  });

  it('creates day files 0600 and their folders 0700 unless `mode` says otherwise', async () => {
    const a = sink();
    await a.write([ev('d', '2026-11-25T01:00:00Z', 1)]);
    await a.close();
    expect((await stat(join(dir, 'd'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'd', 'd-2026-11-25.jsonl'))).mode & 0o777).toBe(0o600);
    const b = sink({ mode: '0640' });
    await b.write([ev('e', '2026-11-25T01:00:00Z', 1)]);
    await b.close();
    expect((await stat(join(dir, 'e'))).mode & 0o777).toBe(0o750);
    expect((await stat(join(dir, 'e', 'e-2026-11-25.jsonl'))).mode & 0o777).toBe(0o640);
    expect(
      dailyFilesSinkSchema.safeParse({ name: 'x', type: 'daily_files', path: dir, mode: 640 }).success,
    ).toBe(false);
    expect(
      dailyFilesSinkSchema.safeParse({ name: 'x', type: 'daily_files', path: dir, mode: '0400' }).success,
    ).toBe(false);
  });
});

describe('daily files named by a pattern', () => {
  it('names day files as duo_watcher did (auth/%y%m%d) and refuses patterns that could leave the folder', async () => {
    const s = sink({ directories: { 'duo.authentication': 'auth' }, file_name: '%y%m%d' });
    await s.write([
      ev('duo.authentication', '2026-11-24T23:59:59Z', 1),
      ev('duo.authentication', '2026-11-25T00:00:00Z', 2),
    ]);
    await s.close();
    expect((await readdir(join(dir, 'auth'))).sort()).toEqual(['261124', '261125']);
    expect(await read(join(dir, 'auth', '261125'))).toMatchObject([{ n: 2 }]);
    for (const bad of ['../%y%m%d', '%y/%m%d', '%Y-%m', '%H%y%m%d'])
      expect(
        dailyFilesSinkSchema.safeParse({ name: 'd', type: 'daily_files', path: dir, file_name: bad }).success,
      ).toBe(false);
  });

  it('removes old days by the pattern, as the clean cron job did, and leaves other files alone', async () => {
    await mkdir(join(dir, 'auth'));
    const longAgo = new Date(Date.now() - 400 * 86_400_000);
    const names = [
      '241101',
      '241102',
      `${new Date().toISOString().slice(2, 10).replaceAll('-', '')}`,
      'state',
      '241101.clean',
    ];
    for (const n of names) await writeFile(join(dir, 'auth', n), '{}\n');
    for (const n of ['241101', '241102', 'state', '241101.clean'])
      await utimes(join(dir, 'auth', n), longAgo, longAgo);
    const s = sink({ file_name: '%y%m%d', retention_days: 370 });
    const today = new Date().toISOString().slice(0, 10);
    const listed = await s.applyRetention(today, { dryRun: true });
    expect(listed.map((p) => p.slice(dir.length + 1)).sort()).toEqual(['auth/241101', 'auth/241102']);
    expect((await readdir(join(dir, 'auth'))).length).toBe(5);
    await s.applyRetention(today, { days: 370 });
    expect((await readdir(join(dir, 'auth'))).sort()).toEqual([names[2], '241101.clean', 'state'].sort());
  });
});

describe('daily files in the local time zone', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it("names the day by the host's local time with day_zone: local, as duo_watcher did", async () => {
    process.env.TZ = 'America/Los_Angeles';
    const s = sink({ file_name: '%y%m%d', day_zone: 'local' });
    // 03:00 UTC on the 25th is still the 24th in Seattle.
    await s.write([ev('d', '2026-11-25T03:00:00Z', 1), ev('d', '2026-11-25T09:00:00Z', 2)]);
    await s.close();
    expect((await readdir(join(dir, 'd'))).sort()).toEqual(['261124', '261125']);
  });
});
