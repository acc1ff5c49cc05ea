import type { Batch, BatchResult, RawItem } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Logger, UnitHealth, UnitHealthState } from '../../core/component.js';
import { Deadline } from '../../core/deadline.js';
import { ConfigError, ControlError, describeError, SourceError, StateError } from '../../core/errors.js';
import { PauseGate } from '../../core/pause.js';
import { type RetryPolicy, retryDelay, sleep, sourceRetry } from '../../core/retry.js';
import type { EventCap } from '../../core/uncommitted.js';
import { defaultBound, eventCap, sliceStarts, type UncommittedBound } from './bound.js';
import type { OrderedRead, PassEnd, SettledRead, UnitRead, WorkUnit } from './unit.js';

export type UnitState = UnitHealthState;

export interface RunnerOptions {
  /** Delivers one batch (runBatch with the app's pipeline, passing `cap` on) and says which items can be acknowledged. */
  process(batch: Batch, cap?: EventCap): Promise<BatchResult>;
  /**
   * Called once everything the unit delivered is committed (nothing a crash would replay): the
   * unit's batches then carry its id as `writer`, and sinks that guard against replays (day files)
   * keep what it wrote until this says it is committed.
   */
  committed?(writer: string): Promise<void>;
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

type ReadOutcome = 'delivered' | 'retry' | 'stop' | 'restart';
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
  /** Reads done (duo_watcher's poll count), with or without items. */
  reads = 0;
  retries = 0;
  errors = 0;
  /** Last successful read or commit (epoch ms); the start time until then, so a unit stuck from the start lags. */
  progressAt = Date.now();
  checkpointAt: number | undefined;
  intervalMs: number;
  /** Stop (or, when set at run time, hold) once `slices` reaches it. */
  maxCount: number | undefined;
  private holdAtMaxCount = false;
  private failures = 0;
  /** Ends the interval sleep early when the interval changes or the unit stops. */
  private wake = new AbortController();
  /** A slice is being delivered or committed: its commit would overwrite a cursor set now. */
  private delivering = false;
  private settingCursor = false;
  /** A cursor was set by hand: the pass in progress reads from the old one and must start over. */
  private cursorReset = false;
  /** Items delivered (or tried) but not committed since, by ackId: what a crash now would replay. */
  private readonly uncommitted = new Set<string>();
  private readonly stopper = new AbortController();
  private readonly gate = new PauseGate();
  private readonly retry: RetryPolicy;
  private readonly bound: UncommittedBound;

  constructor(
    readonly unit: WorkUnit<C>,
    private readonly opts: RunnerOptions,
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.maxCount = opts.maxCount;
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

  /** Also lifts a run-time maxcount the unit is held at, which would hold it again at once. */
  resume(): void {
    if (this.holdAtMaxCount && this.atMaxCount()) this.setMaxCount(undefined);
    if (!this.gate.closed) return;
    this.gate.open();
    if (!this.done()) this.state = 'running';
  }

  /** Finishes the slice in flight (drain), then returns. */
  stop(): void {
    this.stopper.abort();
    this.gate.open();
    this.wake.abort();
  }

  /**
   * Takes effect at the next poll: a unit sleeping out its old interval wakes and sleeps only
   * what is left of the new one, counted from when its sleep began.
   */
  setIntervalMs(ms: number): void {
    this.intervalMs = ms;
    this.wake.abort();
  }

  /**
   * At most `n` more slices from now, then the unit holds (paused, keeping its place) until
   * resumed; undefined lifts the limit. A daemon's unit that stopped instead would be started
   * again by its source (a Kinesis shard at the next shard refresh).
   */
  setMaxCount(n: number | undefined): void {
    this.maxCount = n === undefined ? undefined : this.slices + n;
    this.holdAtMaxCount = n !== undefined;
  }

  clearErrors(): void {
    this.errors = 0;
    this.retries = 0;
    this.lastError = undefined;
  }

  showCursor(): string | undefined {
    return this.lastCursor === undefined ? undefined : this.describeCursor(this.lastCursor);
  }

  /**
   * Commits a cursor an operator gave, for the next pass to read from. Only while paused and
   * between slices: a slice in flight would commit over it, and a running unit is ahead of it.
   */
  async setCursor(text: string): Promise<string> {
    const id = this.unit.id;
    if (!this.unit.parseCursor)
      throw new ControlError(`${id}: this kind of unit cannot have its checkpoint set by hand`, {
        refusal: 'unsupported',
      });
    if (this.state !== 'paused')
      throw new ControlError(`${id} is ${this.state}: stop it first (thread NAME stop)`, {
        refusal: 'conflict',
      });
    if (this.delivering || this.settingCursor)
      throw new ControlError(`${id} is still finishing a batch; try again in a moment`, {
        refusal: 'conflict',
      });
    const cursor = this.unit.parseCursor(text);
    this.settingCursor = true;
    try {
      await this.unit.commit(cursor);
    } finally {
      this.settingCursor = false;
    }
    this.lastCursor = cursor;
    this.checkpointAt = Date.now();
    this.cursorReset = true;
    // The operator chose where to go on from: what was uncommitted may never be read again.
    this.uncommitted.clear();
    this.opts.log.warn({ unit: id }, `${id}: checkpoint set by hand to ${this.describeCursor(cursor)}`);
    return this.describeCursor(cursor);
  }

  status() {
    return {
      unit: this.unit.id,
      state: this.state,
      slices: this.slices,
      items: this.items,
      reads: this.reads,
      retries: this.retries,
      errors: this.errors,
      interval_ms: this.intervalMs,
      ...(this.maxCount === undefined ? {} : { max_count_left: Math.max(0, this.maxCount - this.slices) }),
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
      intervalMs: this.intervalMs,
    };
  }

  /** Runs until stopped, finished or failed; throws only for failures retrying cannot help. */
  async run(): Promise<void> {
    const loaded = await this.unit.load();
    // A cursor set by hand while the checkpoint was being loaded is the newer word.
    if (!this.cursorReset) this.lastCursor = loaded;
    while (!this.signal.aborted) {
      await this.waitWhilePaused();
      if (this.signal.aborted) break;
      this.setState('running');
      let end: PassEnd | 'stop' | 'retry' | 'restart';
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
      if (end === 'restart') continue;
      if (end === 'retry') await this.backOff();
      else await this.idle();
    }
    if (!this.done()) this.state = 'stopped';
  }

  private async pass(): Promise<PassEnd | 'stop' | 'retry' | 'restart'> {
    this.cursorReset = false;
    const reads = this.unit.read(this.lastCursor, this.signal);
    try {
      for (;;) {
        // A paused unit asks its source for nothing more (a Duo log sends no request), nor does
        // one past its deadline or max count: what it read could not be delivered.
        await this.waitWhilePaused();
        if (this.shouldStop()) return 'stop';
        const next = await reads.next();
        if (this.cursorReset) return 'restart';
        if (next.done) return next.value;
        this.reads++;
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
    if (items.length === 0) return this.deliverEmpty(read);
    const starts = sliceStarts(read.batch, this.bound);
    for (let s = 0; s < starts.length; s++) {
      this.holdIfAtMaxCount();
      if (this.shouldStop()) return 'stop';
      await this.waitWhilePaused();
      if (this.signal.aborted) return 'stop';
      if (this.cursorReset) return 'restart';
      const outcome = await this.deliverRange(read, starts[s]!, starts[s + 1] ?? items.length);
      if (outcome !== 'delivered') return outcome;
    }
    return 'delivered';
  }

  /** Caught up (wait the interval), or a read filtered empty whose end cursor moved (commit it, read on). */
  private async deliverEmpty(read: UnitRead<C>): Promise<ReadOutcome> {
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
    return this.signal.aborted ? 'stop' : this.cursorReset ? 'restart' : 'delivered';
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
    const result = await this.processAndCommit(read, from, to, (r) => {
      const n = deliveredCount(r);
      return n > 0 ? { cursor: cursorAt(read, from + n), covers: (i) => i < n } : undefined;
    });
    const delivered = deliveredCount(result);
    const firstFailed = delivered === to - from ? -1 : delivered;
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
    const tried = (r: BatchResult) => r.items.slice(0, r.deferredFrom);
    const result = await this.processAndCommit(read, from, to, (r) => ({
      cursor: read.settle(from, tried(r)),
      // A failed item is settled as one to retry: it is still uncommitted.
      covers: (i) => isAcked(r.items[i]!),
    }));
    this.items += tried(result).filter(isAcked).length;
    this.slices++;
    if (result.deferredFrom !== undefined) return from + result.deferredFrom;
    const failed = result.items.find((r) => !isAcked(r));
    if (failed) {
      this.noteError(failed.error ?? 'delivery failed');
      this.opts.log.warn({ unit: this.unit.id }, `${this.unit.id}: ${this.lastError}; retried later`);
    }
    return result.cutShort ? 'stop' : 'delivered';
  }

  /**
   * Delivers items `from`..`to` of a read and commits the cursor `commitOf` makes of the result
   * (`covers`: which of the slice's items that commit takes in), as one step: `checkpoint set`
   * waits until no slice is between its delivery and its commit.
   */
  private async processAndCommit(
    read: UnitRead<C>,
    from: number,
    to: number,
    commitOf: (result: BatchResult) => { cursor: C; covers: (i: number) => boolean } | undefined,
  ): Promise<BatchResult> {
    const items = read.batch.items.slice(from, to);
    const batch = this.opts.committed
      ? { source: read.batch.source, items, writer: this.unit.id }
      : { source: read.batch.source, items };
    this.setState('running');
    this.delivering = true;
    let result: BatchResult | undefined;
    let next: ReturnType<typeof commitOf>;
    try {
      result = await this.opts.process(batch, { events: eventCap(this.bound) });
      next = commitOf(result);
      if (next) await this.commit(next.cursor);
      return result;
    } finally {
      this.delivering = false;
      // Thrown before or during the commit: all of the slice may have been written, none committed.
      await this.noteWrites(items, result?.deferredFrom ?? items.length, next?.covers ?? (() => false));
    }
  }

  /**
   * Keeps count of what the unit wrote and has not committed, and tells the sinks once nothing is
   * left (a slice committed whole, or the retry of an earlier failure committed): until then, a
   * sink that recognizes replays by what it wrote must keep recognizing all of it.
   */
  private async noteWrites(
    items: readonly RawItem[],
    tried: number,
    covers: (i: number) => boolean,
  ): Promise<void> {
    if (!this.opts.committed || tried === 0) return;
    for (let i = 0; i < tried; i++) {
      if (covers(i)) this.uncommitted.delete(items[i]!.ackId);
      else this.uncommitted.add(items[i]!.ackId);
    }
    if (this.uncommitted.size === 0) await this.opts.committed(this.unit.id);
  }

  private async commit(cursor: C): Promise<void> {
    await this.unit.commit(cursor);
    this.lastCursor = cursor;
    this.checkpointAt = this.progressAt = Date.now();
  }

  private shouldStop(): boolean {
    if (this.signal.aborted) return true;
    if (this.opts.deadline?.expired()) return true;
    return !this.holdAtMaxCount && this.atMaxCount();
  }

  private atMaxCount(): boolean {
    return this.maxCount !== undefined && this.slices >= this.maxCount;
  }

  /** A maxcount set at run time pauses the unit where it is; one given at start stops it (pull --max). */
  private holdIfAtMaxCount(): void {
    if (this.holdAtMaxCount && this.atMaxCount()) this.pause();
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
    this.holdIfAtMaxCount();
    if (this.opts.once || this.shouldStop()) return this.stop();
    this.setState('idle');
    await this.sleepInterval();
    // A unit paused while it slept polls no more until resumed.
    await this.waitWhilePaused();
  }

  private async sleepInterval(): Promise<void> {
    const began = Date.now();
    for (;;) {
      const left = this.intervalMs - (Date.now() - began);
      if (left <= 0 || this.signal.aborted) return;
      this.wake = new AbortController();
      await sleep(left, this.wake.signal);
    }
  }

  private async waitWhilePaused(): Promise<void> {
    await this.gate.wait(this.signal);
  }

  private describeCursor(cursor: C): string {
    return this.unit.describeCursor ? this.unit.describeCursor(cursor) : JSON.stringify(cursor);
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
/** Items of a delivery acknowledged before the first that was not. */
function deliveredCount(result: BatchResult): number {
  const failedAt = result.items.findIndex((r) => !isAcked(r));
  return failedAt === -1 ? result.items.length : failedAt;
}

function cursorAt<C>(read: OrderedRead<C>, delivered: number): C {
  const all = delivered === read.batch.items.length;
  return all && read.endCursor !== undefined ? read.endCursor : read.cursorAfter(delivered - 1);
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
