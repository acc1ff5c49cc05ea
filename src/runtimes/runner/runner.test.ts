import { describe, expect, it } from 'vitest';
import type { RawItem } from '../../core/batch.js';
import { ControlError, SourceError, StateError } from '../../core/errors.js';
import { runBatch } from '../../core/pipeline.js';
import { AutoParser } from '../../parsers/auto/index.js';
import { memoryLogger } from '../../platform/log.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { type RunnerOptions, runOnce, UnitRunner } from './runner.js';
import type { PassEnd, SettledRead, UnitRead, WorkUnit } from './unit.js';

/** A unit over a list of JSON lines whose cursor is the index of the next line (an inbox file, a log). */
class ListUnit implements WorkUnit<number> {
  readonly id = 'list';
  readonly commits: number[] = [];
  readonly passesFrom: (number | undefined)[] = [];
  finishedAt: number | undefined | 'no';
  readErrors: Error[] = [];

  constructor(
    private readonly lines: string[],
    private readonly perRead = 4,
    private readonly end: PassEnd = 'finished',
    private committed?: number,
  ) {
    this.finishedAt = 'no';
  }

  async load() {
    return this.committed;
  }

  async *read(from: number | undefined): AsyncGenerator<UnitRead<number>, PassEnd> {
    this.passesFrom.push(from);
    const error = this.readErrors.shift();
    if (error) throw error;
    for (let at = from ?? 0; at < this.lines.length; at += this.perRead) {
      const items = this.lines.slice(at, at + this.perRead).map((l, i) => item(at + i, l));
      yield { batch: { source: 'list', items }, cursorAfter: (i) => at + i + 1 };
    }
    return this.end;
  }

  async commit(cursor: number) {
    this.commits.push(cursor);
    this.committed = cursor;
  }

  async finish(last: number | undefined) {
    this.finishedAt = last;
  }
}

/** A ListUnit whose cursor an operator may set: a line number. */
class SettableUnit extends ListUnit {
  parseCursor(text: string): number {
    if (!/^\d{1,6}$/.test(text)) throw new ControlError('a line number', { refusal: 'invalid' });
    return Number(text);
  }
}

const tick = () => new Promise((res) => setTimeout(res, 1));

/** Waits for something the runner does on its own (a pass, a pause), without a time limit of its own. */
async function until(f: () => boolean): Promise<void> {
  while (!f()) await tick();
}

function item(n: number, line: string): RawItem {
  return {
    ackId: String(n),
    origin: { source: 'list', type: 'test', ref: `line ${n}` },
    body: { kind: 'bytes', bytes: Buffer.from(line) },
  };
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ n: i, msg: `event ${i}` }));

function runner(unit: ListUnit, sink: MemorySink, over: Partial<RunnerOptions> = {}) {
  const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
  return new UnitRunner(unit, {
    process: (b, cap) => runBatch(b, p, undefined, cap),
    signal: new AbortController().signal,
    log: memoryLogger(),
    retry: { baseMs: 1, maxMs: 2, floorMs: 0 },
    intervalMs: 1,
    ...over,
  });
}

describe('unit runner', () => {
  it('delivers every read and commits after each slice, never more than the bound apart', async () => {
    const unit = new ListUnit(lines(10), 10);
    const sink = new MemorySink();
    const r = runner(unit, sink, { bound: { items: 3, bytes: 1 << 20 } });
    await r.run();
    expect(sink.byId.size).toBe(10);
    expect(unit.commits).toEqual([3, 6, 9, 10]);
    expect(sink.writes.map((w) => w.length)).toEqual([3, 3, 3, 1]);
    expect(r.state).toBe('finished');
    expect(unit.finishedAt).toBe(10);
  });

  it('cuts a slice again where it reached the event cap, committing each part before the next', async () => {
    const unit = new ListUnit(lines(10), 10);
    const sink = new MemorySink();
    const r = runner(unit, sink, { bound: { items: 100, bytes: 1 << 20, events: 3 } });
    await r.run();
    expect(sink.byId.size).toBe(10);
    expect(unit.commits).toEqual([3, 6, 9, 10]);
    expect(r.retries).toBe(0);
  });

  it('settles a read in parts where the event cap cut it', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
    const settled: number[][] = [];
    const read: SettledRead<number[]> = {
      batch: { source: 'list', items: lines(5).map((l, i) => item(i, l)) },
      settle: (from, results) => {
        const cursor = results.map((_, i) => from + i);
        settled.push(cursor);
        return cursor;
      },
    };
    await runOnce(read, {
      id: 'capped',
      process: (b, cap) => runBatch(b, p, undefined, cap),
      log: memoryLogger(),
      bound: { items: 100, bytes: 1 << 20, events: 2 },
    });
    expect(settled).toEqual([[0, 1], [2, 3], [4]]);
    expect(sink.byId.size).toBe(5);
  });

  it('cuts slices by bytes too, an item larger than the bound going alone', async () => {
    const unit = new ListUnit(
      ['{"a":"x"}', JSON.stringify({ big: 'y'.repeat(100) }), '{"b":1}', '{"c":2}'],
      4,
    );
    const r = runner(unit, new MemorySink(), { bound: { items: 100, bytes: 30 } });
    await r.run();
    expect(unit.commits).toEqual([1, 2, 4]);
  });

  it('commits up to the first failure and reads again from there', async () => {
    const unit = new ListUnit(lines(8), 4);
    // Every attempt at line 1 fails on the first read: the runner commits line 0 and backs off.
    const sink = new MemorySink().failNext(3, true, (_, e) => e.origin.ref === 'line 1');
    const r = runner(unit, sink, { bound: { items: 100, bytes: 1 << 20 } });
    await r.run();
    expect(sink.byId.size).toBe(8);
    expect(unit.commits).toEqual([1, 5, 8]);
    expect(unit.passesFrom).toEqual([undefined, 1]);
    expect(r.retries).toBe(1);
  });

  it('names itself as the writer and tells the sinks only once nothing it delivered is uncommitted', async () => {
    const unit = new ListUnit(lines(8), 4);
    const sink = new MemorySink().failNext(3, true, (_, e) => e.origin.ref === 'line 1');
    const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
    const writers = new Set<string | undefined>();
    const calls: number[] = [];
    const r = runner(unit, sink, {
      bound: { items: 100, bytes: 1 << 20 },
      process: (b, cap) => {
        writers.add(b.writer);
        return runBatch(b, p, undefined, cap);
      },
      committed: async (writer) => {
        expect(writer).toBe('list');
        calls.push(unit.commits.at(-1)!);
      },
    });
    await r.run();
    expect(unit.commits).toEqual([1, 5, 8]);
    // After the commit at 1, lines 1-3 were written (2 and 3) or tried (1) and not committed.
    expect(calls).toEqual([5, 8]);
    expect([...writers]).toEqual(['list']);
  });

  it('keeps a settled item that failed uncommitted until a later read delivers it', async () => {
    const settledUnit = new (class extends ListUnit {
      override async *read(from: number | undefined): AsyncGenerator<UnitRead<number>, PassEnd> {
        this.passesFrom.push(from);
        if (from === undefined) {
          for (const at of [0, 2, 4]) {
            const items = lines(6)
              .slice(at, at + 2)
              .map((l, i) => item(at + i, l));
            yield { batch: { source: 'list', items }, settle: (first, done) => at + first + done.length };
          }
          return 'idle';
        }
        // The next pass retries what failed (an SQS message seen again, an inbox file still there).
        yield { batch: { source: 'list', items: [item(1, lines(6)[1]!)] }, settle: () => 7 };
        return 'finished';
      }
    })(lines(6));
    let failLine1 = true;
    const sink = new MemorySink();
    const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
    const calls: number[] = [];
    const r = runner(settledUnit, sink, {
      process: async (b, cap) => {
        if (failLine1 && b.items.some((i) => i.ackId === '1')) {
          failLine1 = false;
          const res = await runBatch({ ...b, items: b.items.slice(0, 1) }, p, undefined, cap);
          return { ...res, items: [res.items[0]!, { ackId: '1', status: 'failed', events: 0, error: 'x' }] };
        }
        return runBatch(b, p, undefined, cap);
      },
      committed: async () => {
        calls.push(settledUnit.commits.at(-1)!);
      },
    });
    await r.run();
    expect(settledUnit.commits).toEqual([2, 4, 6, 7]);
    // Line 1 failed in the first slice and was settled as one to retry: nothing is told until it is delivered.
    expect(calls).toEqual([7]);
    expect(sink.byId.size).toBe(6);
  });

  it('backs off after a read that failed and resumes from the committed cursor', async () => {
    const unit = new ListUnit(lines(4), 2);
    unit.readErrors.push(new SourceError('throttled', { retryable: true }));
    const sink = new MemorySink();
    const r = runner(unit, sink);
    await r.run();
    expect(unit.passesFrom).toEqual([undefined, undefined]);
    expect(sink.byId.size).toBe(4);
  });

  it('stops for good, failed with the reason, when retrying cannot help', async () => {
    const unit = new ListUnit(lines(4), 2);
    unit.readErrors.push(new StateError('checkpoint list is corrupt'));
    const r = runner(unit, new MemorySink());
    await expect(r.run()).rejects.toThrow('corrupt');
    expect(r.state).toBe('failed');
    expect(r.lastError).toContain('corrupt');
  });

  it('is stopped, not failed, when its commit is refused because it was stopped meanwhile', async () => {
    // A Kinesis shard whose lease another worker took: the unit is stopped and its commit refused.
    const unit = new ListUnit(lines(4), 2);
    const r = runner(unit, new MemorySink());
    unit.commit = async () => {
      r.stop();
      throw new SourceError('lease leases/shardId-000000000000 is no longer ours', { retryable: false });
    };
    await r.run();
    expect(r.state).toBe('stopped');
    expect(r.lastCursor).toBeUndefined();
  });

  it('delivers nothing while paused and goes on after resume', async () => {
    const unit = new ListUnit(lines(4), 2);
    const sink = new MemorySink();
    const r = runner(unit, sink);
    r.pause();
    const done = r.run();
    await new Promise((res) => setImmediate(res));
    expect(r.state).toBe('paused');
    expect(sink.writes).toHaveLength(0);
    r.resume();
    await done;
    expect(sink.byId.size).toBe(4);
  });

  it('stops after max count slices, with the cursor at what was delivered', async () => {
    const unit = new ListUnit(lines(10), 2, 'idle');
    const r = runner(unit, new MemorySink(), { maxCount: 2 });
    await r.run();
    expect(unit.commits).toEqual([2, 4]);
    expect(r.state).toBe('stopped');
    expect(r.status()).toMatchObject({ state: 'stopped', last_cursor: 4, slices: 2, items: 4 });
  });

  it('reads again after the interval when a pass ends idle, from the last commit', async () => {
    const unit = new ListUnit(lines(3), 2, 'idle', 1);
    const r = runner(unit, new MemorySink());
    const done = r.run();
    while (unit.passesFrom.length < 2) await new Promise((res) => setTimeout(res, 1));
    r.stop();
    await done;
    expect(unit.passesFrom.slice(0, 2)).toEqual([1, 3]);
    expect(r.state).toBe('stopped');
  });

  it('reports health: errors of reads and deliveries, events, and when it last committed', async () => {
    const unit = new ListUnit(lines(8), 4);
    unit.readErrors.push(new SourceError('throttled', { retryable: true }));
    const sink = new MemorySink().failNext(3, true, (_, e) => e.origin.ref === 'line 1');
    const r = runner(unit, sink, { bound: { items: 100, bytes: 1 << 20 } });
    expect(r.health().checkpointAt).toBeUndefined();
    await r.run();
    expect(r.health()).toMatchObject({ unit: 'list', state: 'finished', events: 8, errors: 2 });
    expect(r.health().checkpointAt).toBeGreaterThanOrEqual(r.health().progressAt - 1);
  });

  it('makes no progress while every delivery fails, so it can be reported as lagging', async () => {
    const unit = new ListUnit(lines(4), 4, 'idle');
    const sink = new MemorySink().failNext(1000, true);
    const r = runner(unit, sink);
    const startedAt = r.health().progressAt;
    const done = r.run();
    while (r.retries < 3) await new Promise((res) => setTimeout(res, 1));
    r.stop();
    await done;
    expect(r.health()).toMatchObject({ progressAt: startedAt, checkpointAt: undefined, events: 0 });
    expect(r.health().errors).toBeGreaterThanOrEqual(3);
  });

  it('commits the end cursor of a read, and of a read filtered empty, reading on at once after the latter', async () => {
    // Cursors are strings here: "after:N" for an item, "end:N" for where a read ends (Duo's next_offset).
    const reads: UnitRead<string>[] = [
      {
        batch: { source: 'paged', items: [item(0, '{}'), item(1, '{}')] },
        cursorAfter: (i) => `after:${i}`,
        endCursor: 'end:1',
      },
      { batch: { source: 'paged', items: [] }, cursorAfter: () => 'never', endCursor: 'end:2' },
      { batch: { source: 'paged', items: [item(2, '{}')] }, cursorAfter: (i) => `after:${2 + i}` },
    ];
    const commits: string[] = [];
    const unit: WorkUnit<string> = {
      id: 'paged',
      load: async () => undefined,
      async *read() {
        yield* reads;
        return 'finished';
      },
      commit: async (c) => {
        commits.push(c);
      },
    };
    const p = testPipeline({ parser: new AutoParser(), sinks: [new MemorySink()] });
    // An interval of an hour: waiting it after the empty read would never let this test end.
    const r = new UnitRunner(unit, {
      process: (b) => runBatch(b, p),
      signal: new AbortController().signal,
      log: memoryLogger(),
      intervalMs: 3_600_000,
    });
    await r.run();
    expect(commits).toEqual(['end:1', 'end:2', 'after:2']);
    expect(r.state).toBe('finished');
  });

  it('runs once: stops when caught up, and at a failure instead of backing off', async () => {
    const caughtUp = new ListUnit(lines(5), 2, 'idle');
    const r1 = runner(caughtUp, new MemorySink(), { once: true, intervalMs: 3_600_000 });
    await r1.run();
    expect(caughtUp.commits).toEqual([2, 4, 5]);
    expect(caughtUp.passesFrom).toEqual([undefined]);
    expect(r1.state).toBe('stopped');

    const failing = new ListUnit(lines(4), 4, 'idle');
    const r2 = runner(
      failing,
      new MemorySink().failNext(3, true, (_, e) => e.origin.ref === 'line 2'),
      {
        once: true,
        retry: { baseMs: 3_600_000, maxMs: 3_600_000, floorMs: 3_600_000 },
      },
    );
    await r2.run();
    expect(failing.commits).toEqual([2]);
    expect(r2).toMatchObject({ state: 'stopped', retries: 0 });

    const unreadable = new ListUnit(lines(4), 2, 'idle');
    unreadable.readErrors.push(new SourceError('Duo answered 500', { retryable: true }));
    const r3 = runner(unreadable, new MemorySink(), { once: true });
    await expect(r3.run()).rejects.toThrow('Duo answered 500');
    expect(unreadable.passesFrom).toEqual([undefined]);
  });

  it('does not commit an end cursor read just before a pause until resumed', async () => {
    const commits: string[] = [];
    let r: UnitRunner<string> | undefined;
    const unit: WorkUnit<string> = {
      id: 'paged',
      load: async () => undefined,
      async *read() {
        // Paused while this read was on its way (the page was asked for before the pause).
        r!.pause();
        yield { batch: { source: 'paged', items: [] }, cursorAfter: () => 'never', endCursor: 'end:1' };
        return 'finished';
      },
      commit: async (c) => {
        commits.push(c);
      },
    };
    const p = testPipeline({ parser: new AutoParser(), sinks: [new MemorySink()] });
    r = new UnitRunner(unit, {
      process: (b) => runBatch(b, p),
      signal: new AbortController().signal,
      log: memoryLogger(),
    });
    const done = r.run();
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    expect(r.state).toBe('paused');
    expect(commits).toEqual([]);
    r.resume();
    await done;
    expect(commits).toEqual(['end:1']);
  });
});

describe('unit runner controls (the daemon command set)', () => {
  it('takes a new interval at once: a unit sleeping out an hour polls again', async () => {
    const unit = new ListUnit(lines(2), 2, 'idle');
    const r = runner(unit, new MemorySink(), { intervalMs: 3_600_000 });
    const done = r.run();
    await until(() => r.state === 'idle');
    expect(unit.passesFrom).toEqual([undefined]);
    r.setIntervalMs(5);
    await until(() => unit.passesFrom.length >= 3);
    expect(r.status().interval_ms).toBe(5);
    expect(r.health().intervalMs).toBe(5);
    r.stop();
    await done;
    expect(unit.passesFrom.slice(0, 3)).toEqual([undefined, 2, 2]);
  });

  it('holds after maxcount more slices, keeping its place, and goes on when resumed', async () => {
    const unit = new ListUnit(lines(10), 2, 'idle');
    const sink = new MemorySink();
    const r = runner(unit, sink);
    r.setMaxCount(2);
    expect(r.status().max_count_left).toBe(2);
    const done = r.run();
    await until(() => r.state === 'paused');
    expect(unit.commits).toEqual([2, 4]);
    expect(r.status().max_count_left).toBe(0);
    // Held, not stopped: a source would start a stopped unit again from its checkpoint.
    r.resume();
    await until(() => sink.byId.size === 10);
    expect(r.maxCount).toBeUndefined();
    r.stop();
    await done;
    expect(unit.commits).toEqual([2, 4, 6, 8, 10]);
  });

  it('lifts a maxcount set to undefined', async () => {
    const unit = new ListUnit(lines(6), 2);
    const r = runner(unit, new MemorySink());
    r.setMaxCount(1);
    r.setMaxCount(undefined);
    await r.run();
    expect(unit.commits).toEqual([2, 4, 6]);
    expect(r.state).toBe('finished');
  });

  it('clears its error counters and last error', async () => {
    const unit = new ListUnit(lines(4), 2);
    unit.readErrors.push(new SourceError('throttled', { retryable: true }));
    const r = runner(unit, new MemorySink());
    await r.run();
    expect(r.health()).toMatchObject({ errors: 1, lastError: expect.stringContaining('throttled') });
    r.clearErrors();
    expect(r.health()).toMatchObject({ errors: 0, lastError: undefined });
    expect(r.status()).toMatchObject({ retries: 0, errors: 0, last_error: undefined });
  });

  it('polls no more while paused during its interval (a shard that keeps reading nothing)', async () => {
    let reads = 0;
    const unit: WorkUnit<number> = {
      id: 'empty-shard',
      load: async () => undefined,
      async *read() {
        for (;;) {
          reads++;
          yield { batch: { source: 'empty', items: [] }, cursorAfter: () => 0 };
        }
      },
      commit: async () => {},
    };
    const r = new UnitRunner(unit, {
      process: async () => ({ items: [], events: 0, cutShort: false }),
      signal: new AbortController().signal,
      log: memoryLogger(),
      intervalMs: 1,
    });
    const done = r.run();
    await until(() => reads >= 3);
    r.pause();
    // The read under way when it was paused may end; after that, none starts.
    await tick();
    const settled = reads;
    for (let i = 0; i < 30; i++) await tick();
    expect(reads).toBe(settled);
    r.resume();
    await until(() => reads > settled);
    r.stop();
    await done;
  });

  it('sets its checkpoint only while paused, validated by the unit, and reads from there next', async () => {
    const unit = new SettableUnit(lines(10), 2, 'idle');
    const sink = new MemorySink();
    const r = runner(unit, sink);
    const done = r.run();
    await until(() => sink.byId.size === 10);
    await expect(r.setCursor('3')).rejects.toMatchObject({ refusal: 'conflict' });
    r.pause();
    await expect(r.setCursor('../3')).rejects.toThrow(ControlError);
    expect(r.showCursor()).toBe('10');
    expect(await r.setCursor('3')).toBe('3');
    expect(unit.commits.at(-1)).toBe(3);
    expect(r.showCursor()).toBe('3');
    const passes = unit.passesFrom.length;
    r.resume();
    await until(() => unit.passesFrom.length > passes);
    r.stop();
    await done;
    expect(unit.passesFrom[passes]).toBe(3);
    // Lines 3..9 went through the sinks again: a replay the sinks' idempotency absorbs.
    expect(sink.byId.size).toBe(10);
    expect(unit.commits.at(-1)).toBe(10);
  });

  it('says a unit without parseCursor cannot have its checkpoint set', async () => {
    const r = runner(new ListUnit(lines(1), 1), new MemorySink());
    r.pause();
    await expect(r.setCursor('1')).rejects.toMatchObject({ refusal: 'unsupported' });
  });

  it('settles items that do not wait for each other: a failure is committed as such and later items go on', async () => {
    const sink = new MemorySink().failNext(3, true, (_, e) => e.origin.ref === 'line 1');
    const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
    const settled: string[] = [];
    const read: SettledRead<string[]> = {
      batch: { source: 'list', items: lines(4).map((l, i) => item(i, l)) },
      settle: (from, results) => {
        const cursor = results.map((r, i) => `${from + i}:${r.status}`);
        settled.push(...cursor);
        return cursor;
      },
    };
    const r = await runOnce(read, {
      id: 'once',
      process: (b) => runBatch(b, p),
      log: memoryLogger(),
      bound: { items: 2, bytes: 1 << 20 },
    });
    expect(settled).toEqual(['0:delivered', '1:failed', '2:delivered', '3:delivered']);
    expect(sink.byId.size).toBe(3);
    expect(r.lastCursor).toEqual(['2:delivered', '3:delivered']);
    expect(r.status()).toMatchObject({ slices: 2, items: 3 });
    expect(r.lastError).toContain('busy');
  });

  it('a one-shot read stops at the deadline, committing nothing it did not deliver', async () => {
    const { Deadline } = await import('../../core/deadline.js');
    const sink = new MemorySink();
    const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
    const read: UnitRead<number> = {
      batch: { source: 'list', items: lines(2).map((l, i) => item(i, l)) },
      cursorAfter: (i) => i,
    };
    const r = await runOnce(read, {
      id: 'late',
      process: (b) => runBatch(b, p),
      log: memoryLogger(),
      deadline: Deadline.in(0),
    });
    expect(r.lastCursor).toBeUndefined();
    expect(sink.writes).toHaveLength(0);
  });

  it('a one-shot ordered read that fails is not read again: the caller hands back the rest', async () => {
    const sink = new MemorySink().failNext(100, true, (_, e) => e.origin.ref === 'line 1');
    const p = testPipeline({ parser: new AutoParser(), sinks: [sink] });
    const read: UnitRead<number> = {
      batch: { source: 'list', items: lines(3).map((l, i) => item(i, l)) },
      cursorAfter: (i) => i,
    };
    const r = await runOnce(read, {
      id: 'fails',
      process: (b) => runBatch(b, p),
      log: memoryLogger(),
      bound: { items: 1, bytes: 1 << 20 },
    });
    expect(r.lastCursor).toBe(0);
    expect(r.state).toBe('stopped');
    expect([...sink.byId.values()].map((e) => e.origin.ref)).toEqual(['line 0']);
  });
});
