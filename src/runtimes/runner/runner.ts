import type { Batch, BatchResult } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Logger, UnitHealth, UnitHealthState } from '../../core/component.js';
import { Deadline } from '../../core/deadline.js';
import { ConfigError, describeError, SourceError, StateError } from '../../core/errors.js';
import { PauseGate } from '../../core/pause.js';
import { type RetryPolicy, retryDelay, sleep, sourceRetry } from '../../core/retry.js';
import { defaultBound, sliceStarts, type UncommittedBound } from './bound.js';
import type { PassEnd, UnitRead, WorkUnit } from './unit.js';

export type UnitState = UnitHealthState;

export interface RunnerOptions {
  /** Delivers one batch (runBatch with the app's pipeline) and says which items can be acknowledged. */
  process(batch: Batch): Promise<BatchResult>;
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
  /**
   * A one-shot run (a scheduled Lambda, `pull duo`): stop once the unit is caught up, and at the
   * first failure instead of backing off (a failed read is thrown); the next run goes on from the
   * checkpoint.
   */
  once?: boolean;
}

type SliceOutcome = 'delivered' | 'retry' | 'stop';

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
        // Stopped from outside while failing (a Kinesis lease taken by another worker refuses the
        // commit): the unit is stopped, not failed.
        if (this.signal.aborted) break;
        if (!isRetryable(e) || this.opts.once) return this.fail(e);
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
        // A paused unit asks its source for nothing more (a Duo log sends no request), nor does
        // one past its deadline or max count: what it read could not be delivered.
        await this.waitWhilePaused();
        if (this.shouldStop()) return 'stop';
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

  private async deliverRead(read: UnitRead<C>): Promise<SliceOutcome> {
    if (read.lagMs !== undefined) this.lagMs = read.lagMs;
    const items = read.batch.items;
    if (items.length === 0) return this.deliverEmpty(read);
    const starts = sliceStarts(read.batch, this.bound);
    for (let s = 0; s < starts.length; s++) {
      if (this.shouldStop()) return 'stop';
      await this.waitWhilePaused();
      if (this.signal.aborted) return 'stop';
      const from = starts[s]!;
      const to = starts[s + 1] ?? items.length;
      const outcome = await this.deliverSlice(read, from, to);
      if (outcome !== 'delivered') return outcome;
    }
    return 'delivered';
  }

  /** Caught up (wait the interval), or a read filtered empty whose end cursor moved (commit it, read on). */
  private async deliverEmpty(read: UnitRead<C>): Promise<SliceOutcome> {
    // Progress either way; a read with items counts once something of it is committed.
    this.progressAt = Date.now();
    if (read.endCursor !== undefined) {
      // A paused unit's checkpoint stays where it was, whatever was read before the pause.
      await this.waitWhilePaused();
      if (this.signal.aborted) return 'stop';
      await this.commit(read.endCursor);
      return 'delivered';
    }
    await this.idle();
    return this.signal.aborted ? 'stop' : 'delivered';
  }

  private async deliverSlice(read: UnitRead<C>, from: number, to: number): Promise<SliceOutcome> {
    const batch = { source: read.batch.source, items: read.batch.items.slice(from, to) };
    this.setState('running');
    const result = await this.opts.process(batch);
    const firstFailed = result.items.findIndex((r) => !isAcked(r));
    const delivered = firstFailed === -1 ? batch.items.length : firstFailed;
    if (delivered > 0) await this.commit(cursorAt(read, from + delivered));
    this.items += delivered;
    this.slices++;
    if (firstFailed === -1) return 'delivered';
    this.noteError(result.items[firstFailed]!.error ?? 'delivery failed');
    this.opts.log.warn({ unit: this.unit.id }, `${this.unit.id}: ${this.lastError}; retrying`);
    return result.cutShort ? 'stop' : 'retry';
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
    if (this.opts.once) return this.stop();
    this.retries++;
    const delay = retryDelay(++this.failures, this.retry);
    if ((this.opts.deadline ?? Deadline.never()).remainingMs() < delay) return this.stop();
    this.setState('backing-off');
    await sleep(delay, this.signal);
  }

  private async idle(): Promise<void> {
    if (this.opts.once || this.shouldStop()) return this.stop();
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

/** The cursor to commit once the first `delivered` items of a read are delivered. */
function cursorAt<C>(read: UnitRead<C>, delivered: number): C {
  const all = delivered === read.batch.items.length;
  return all && read.endCursor !== undefined ? read.endCursor : read.cursorAfter(delivered - 1);
}

/** A corrupt checkpoint, bad config or a source that says so cannot be helped by reading again. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof StateError || e instanceof ConfigError) return false;
  return !(e instanceof SourceError && !e.retryable);
}
