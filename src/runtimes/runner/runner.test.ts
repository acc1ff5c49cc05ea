import { describe, expect, it } from 'vitest';
import type { RawItem } from '../../core/batch.js';
import { SourceError, StateError } from '../../core/errors.js';
import { memoryLogger } from '../../core/log.js';
import { runBatch } from '../../core/pipeline.js';
import { AutoParser } from '../../parsers/auto/index.js';
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
