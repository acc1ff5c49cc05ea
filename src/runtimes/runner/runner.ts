import type { Batch, BatchResult } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Logger, UnitHealth, UnitHealthState } from '../../core/component.js';
import { Deadline } from '../../core/deadline.js';
import { ConfigError, describeError, SourceError, StateError } from '../../core/errors.js';
import { PauseGate } from '../../core/pause.js';
import { type RetryPolicy, retryDelay, sleep, sourceRetry } from '../../core/retry.js';
import type { EventCap } from '../../core/uncommitted.js';
import { defaultBound, eventCap, sliceStarts, type UncommittedBound } from './bound.js';
import type { OrderedRead, PassEnd, SettledRead, UnitRead, WorkUnit } from './unit.js';

export type UnitState = UnitHealthState;

export interface RunnerOptions {
  /** Delivers one batch (runBatch with the app's pipeline, passing `cap` on) and says which items can be acknowledged. */
  process(batch: Batch, cap?: EventCap): Promise<BatchResult>;
  signal: AbortSignal;
  log: Logger;
  retry?: RetryPolicy;
  /** Wait between passes, and after a read that brought nothing. */
  intervalMs?: number;
  /** Stop after this many delivered slices (`pull duo --max`, demos). */
  maxCount?: number;
  bound?: UncommittedBound;
  /** Stop starting new slices when it is reached (the Lambda's remaining time). */
  deadline?: Deadline;
}

type ReadOutcome = 'delivered' | 'retry' | 'stop';
/** A number: the slice reached the event cap; what is before that index is committed, the rest goes next. */
type SliceOutcome = ReadOutcome | number;

/**
 * Drives one work unit: reads from its committed cursor, delivers each read in bounded slices,
 * commits up to the first failure, backs off and reads again from there. Pause, resume, stop and
 * the interval can be changed while it runs (the daemon's control API).
 */
export class UnitRunner<C> {
  state: UnitState = 'starting';
  lastError: string | undefined;
  lastCursor: C | undefined;
  lagMs: number | undefined;
  slices = 0;
  items = 0;
  retries = 0;
  errors = 0;
  /** Last successful read or commit (epoch ms); the start time until then, so a unit stuck from the start lags. */
  progressAt = Date.now();
  checkpointAt: number | undefined;
  intervalMs: number;
  private failures = 0;
  private readonly stopper = new AbortController();
  private readonly gate = new PauseGate();
  private readonly retry: RetryPolicy;
  private readonly bound: UncommittedBound;

  constructor(
    readonly unit: WorkUnit<C>,
    private readonly opts: RunnerOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.retry = opts.retry ?? sourceRetry;
    this.bound = opts.bound ?? defaultBound;
    // A unit started just as the runtime stops (a shard found during the last refresh) must stop too.
    if (opts.signal.aborted) this.stop();
    else opts.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  pause(): void {
    if (this.gate.closed || this.done()) return;
    this.gate.close();
    this.state = 'paused';
  }

  resume(): void {
    if (!this.gate.closed) return;
    this.gate.open();
    if (!this.done()) this.state = 'running';
  }

  /** Finishes the slice in flight (drain), then returns. */
  stop(): void {
    this.stopper.abort();
    this.gate.open();
  }

  status() {
    return {
      unit: this.unit.id,
      state: this.state,
      slices: this.slices,
      items: this.items,
      retries: this.retries,
      interval_ms: this.intervalMs,
      last_cursor: this.lastCursor,
      lag_ms: this.lagMs,
      last_error: this.lastError,
    };
  }

  health(): UnitHealth {
    return {
      unit: this.unit.id,
      state: this.state,
      events: this.items,
      errors: this.errors,
      progressAt: this.progressAt,
      checkpointAt: this.checkpointAt,
      lagMs: this.lagMs,
      lastError: this.lastError,
    };
  }

  /** Runs until stopped, finished or failed; throws only for failures retrying cannot help. */
  async run(): Promise<void> {
    this.lastCursor = await this.unit.load();
    while (!this.signal.aborted) {
      await this.waitWhilePaused();
      if (this.signal.aborted) break;
      this.setState('running');
      let end: PassEnd | 'stop' | 'retry';
      try {
        end = await this.pass();
      } catch (e) {
        if (!isRetryable(e)) return this.fail(e);
        end = 'retry';
        this.noteError(describeError(e));
        this.opts.log.warn({ unit: this.unit.id }, `${this.unit.id}: ${this.lastError}; reading again`);
      }
      if (end === 'finished') return this.finish();
      if (end === 'stop') break;
      if (end === 'retry') await this.backOff();
      else await this.idle();
    }
    if (!this.done()) this.state = 'stopped';
  }

  private async pass(): Promise<PassEnd | 'stop' | 'retry'> {
    const reads = this.unit.read(this.lastCursor, this.signal);
    try {
      for (;;) {
        const next = await reads.next();
        if (next.done) return next.value;
        const outcome = await this.deliverRead(next.value);
        if (outcome !== 'delivered') return outcome;
        this.failures = 0;
      }
    } finally {
      await reads.return?.('idle').catch(() => undefined);
    }
  }

  private async deliverRead(read: UnitRead<C>): Promise<ReadOutcome> {
    if (read.lagMs !== undefined) this.lagMs = read.lagMs;
    const items = read.batch.items;
    if (items.length === 0) {
      // Caught up: progress. A read with items counts once something of it is committed.
      this.progressAt = Date.now();
      await this.idle();
      return this.signal.aborted ? 'stop' : 'delivered';
    }
    const starts = sliceStarts(read.batch, this.bound);
    for (let s = 0; s < starts.length; s++) {
      if (this.shouldStop()) return 'stop';
      await this.waitWhilePaused();
      if (this.signal.aborted) return 'stop';
      const outcome = await this.deliverRange(read, starts[s]!, starts[s + 1] ?? items.length);
      if (outcome !== 'delivered') return outcome;
    }
    return 'delivered';
  }

  /** One slice, cut again where the event cap stopped it (each part committed before the next). */
  private async deliverRange(read: UnitRead<C>, from: number, to: number): Promise<ReadOutcome> {
    for (let at = from; ; ) {
      const outcome =
        'settle' in read ? await this.settleSlice(read, at, to) : await this.deliverSlice(read, at, to);
      if (typeof outcome !== 'number') return outcome;
      if (this.shouldStop()) return 'stop';
      at = outcome;
    }
  }

  private async deliverSlice(read: OrderedRead<C>, from: number, to: number): Promise<SliceOutcome> {
    const batch = { source: read.batch.source, items: read.batch.items.slice(from, to) };
    this.setState('running');
    const result = await this.opts.process(batch, { events: eventCap(this.bound) });
    const firstFailed = result.items.findIndex((r) => !isAcked(r));
    const delivered = firstFailed === -1 ? batch.items.length : firstFailed;
    if (delivered > 0) await this.commit(read.cursorAfter(from + delivered - 1));
    this.items += delivered;
    this.slices++;
    if (firstFailed === -1) return 'delivered';
    if (firstFailed === result.deferredFrom) return from + firstFailed;
    this.noteError(result.items[firstFailed]!.error ?? 'delivery failed');
    this.opts.log.warn({ unit: this.unit.id }, `${this.unit.id}: ${this.lastError}; retrying`);
    return result.cutShort ? 'stop' : 'retry';
  }

  /** Items that do not wait for each other: commit the slice's outcome, failures included, and go on. */
  private async settleSlice(read: SettledRead<C>, from: number, to: number): Promise<SliceOutcome> {
    const batch = { source: read.batch.source, items: read.batch.items.slice(from, to) };
    this.setState('running');
    const result = await this.opts.process(batch, { events: eventCap(this.bound) });
    const tried = result.items.slice(0, result.deferredFrom);
    await this.commit(read.settle(from, tried));
    this.items += tried.filter(isAcked).length;
    this.slices++;
    if (result.deferredFrom !== undefined) return from + result.deferredFrom;
    const failed = result.items.find((r) => !isAcked(r));
    if (failed) {
      this.noteError(failed.error ?? 'delivery failed');
      this.opts.log.warn({ unit: this.unit.id }, `${this.unit.id}: ${this.lastError}; retried later`);
    }
    return result.cutShort ? 'stop' : 'delivered';
  }

  private async commit(cursor: C): Promise<void> {
    await this.unit.commit(cursor);
    this.lastCursor = cursor;
    this.checkpointAt = this.progressAt = Date.now();
  }

  private shouldStop(): boolean {
    if (this.signal.aborted) return true;
    if (this.opts.deadline?.expired()) return true;
    return this.opts.maxCount !== undefined && this.slices >= this.opts.maxCount;
  }

  private async backOff(): Promise<void> {
    this.retries++;
    const delay = retryDelay(++this.failures, this.retry);
    if ((this.opts.deadline ?? Deadline.never()).remainingMs() < delay) return this.stop();
    this.setState('backing-off');
    await sleep(delay, this.signal);
  }

  private async idle(): Promise<void> {
    if (this.shouldStop()) return this.stop();
    this.setState('idle');
    await sleep(this.intervalMs, this.signal);
  }

  private async waitWhilePaused(): Promise<void> {
    await this.gate.wait(this.signal);
  }

  private async finish(): Promise<void> {
    await this.unit.finish?.(this.lastCursor);
    this.state = 'finished';
  }

  private noteError(error: string): void {
    this.lastError = error;
    this.errors++;
  }

  private fail(e: unknown): never {
    this.state = 'failed';
    this.noteError(describeError(e));
    this.opts.log.error({ unit: this.unit.id }, `${this.unit.id} stopped: ${this.lastError}`);
    throw e;
  }

  private setState(s: UnitState): void {
    if (!this.gate.closed && !this.done()) this.state = s;
  }

  private done(): boolean {
    return this.state === 'finished' || this.state === 'failed' || this.state === 'stopped';
  }
}

/** A corrupt checkpoint, bad config or a source that says so cannot be helped by reading again. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof StateError || e instanceof ConfigError) return false;
  return !(e instanceof SourceError && !e.retryable);
}

export interface OneShotOptions extends Pick<RunnerOptions, 'process' | 'log' | 'deadline' | 'bound'> {
  id: string;
}

/**
 * Delivers one read that will never be read again by this process (a Lambda event: its "commit"
 * is the answer to Lambda), through the same slicing, deadline and commit rules as a unit. Returns
 * the runner, whose `lastCursor` is the last committed cursor (undefined when nothing was).
 */
export async function runOnce<C>(read: UnitRead<C>, opts: OneShotOptions): Promise<UnitRunner<C>> {
  const over = new AbortController();
  const runner = new UnitRunner(new OneShotUnit(opts.id, read, over), {
    ...opts,
    signal: over.signal,
    bound: opts.bound ?? { items: Number.POSITIVE_INFINITY, bytes: Number.POSITIVE_INFINITY },
  });
  await runner.run();
  return runner;
}

/** A unit holding one read: after its one pass (delivered or not) it stops, as the caller retries what is left. */
class OneShotUnit<C> implements WorkUnit<C> {
  private served = false;

  constructor(
    readonly id: string,
    private readonly only: UnitRead<C>,
    private readonly over: AbortController,
  ) {}

  async load(): Promise<C | undefined> {
    return undefined;
  }

  async *read(): AsyncGenerator<UnitRead<C>, PassEnd> {
    try {
      if (!this.served) {
        this.served = true;
        yield this.only;
      }
      return 'finished';
    } finally {
      this.over.abort();
    }
  }

  async commit(): Promise<void> {}
}
