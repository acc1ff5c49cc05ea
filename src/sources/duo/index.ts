import { resolveSecret } from '../../config/secrets.js';
import type { Batch, BatchResult } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Logger, Source, SourceContext, StateStore } from '../../core/component.js';
import type { Deps } from '../../core/contracts.js';
import type { Deadline } from '../../core/deadline.js';
import { ConfigError, describeError, SourceError, StateError } from '../../core/errors.js';
import type { RetryPolicy } from '../../core/retry.js';
import { defaultBound } from '../../runtimes/runner/bound.js';
import { type RunnerOptions, UnitRunner } from '../../runtimes/runner/runner.js';
import { checkpointKey, type DuoCheckpoint, loadCheckpoint } from './checkpoint.js';
import { DuoClient } from './client.js';
import { ResumePoint } from './import.js';
import { V1_PAGE } from './pages.js';
import type { DuoLogName, DuoSourceConfig } from './schema.js';
import { type DuoLogContext, DuoLogUnit } from './unit.js';

/** After the client's own retries gave up on Duo's API, wait longer than after a sink failure. */
const DUO_API_RETRY: RetryPolicy = { baseMs: 2000, maxMs: 120_000, floorMs: 1000 };

export interface PollContext {
  state: StateStore;
  process(batch: Batch): Promise<BatchResult>;
  /** See SourceContext.committed: lets day files stop guarding what a log committed. */
  committed?(writer: string): Promise<void>;
  log: Logger;
  signal?: AbortSignal;
  deadline?: Deadline;
  /** Called after each page with where the log stands (the CLI's progress line). */
  onPage?(p: { log: DuoLogName; ts: number; events: number }): void;
}

export interface PollResult {
  log: DuoLogName;
  events: number;
  pages: number;
  /** Nothing newer than the two-minute delay is left to read. */
  caughtUp: boolean;
  /** Some events could not be delivered; the checkpoint stops before the first of them. */
  failed?: string;
}

interface LogRun {
  unit: DuoLogUnit;
  runner: UnitRunner<DuoCheckpoint>;
}

/**
 * The Duo Admin API logs (authentication, administrator, telephony), each its own work unit run
 * by its own UnitRunner with its own interval, so one log can be paused or fail alone. A page is
 * handed to the pipeline as one read, one item per event; the log's checkpoint moves only past
 * events every sink has (or that were dead-lettered).
 */
export class DuoSource implements Source {
  readonly name: string;
  /** The daemon's runs, one per enabled log, once `run` has started them. */
  private readonly runs = new Map<DuoLogName, LogRun>();
  private readonly resumePoint: ResumePoint;

  constructor(
    readonly cfg: DuoSourceConfig,
    readonly client: DuoClient,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.resumePoint = new ResumePoint(cfg.resume_from);
  }

  enabledLogs(): DuoLogName[] {
    return (Object.keys(this.cfg.logs) as DuoLogName[]).filter((n) => this.cfg.logs[n].enabled);
  }

  /** One unit per log (id: the log's name), paused, resumed and reported on its own. */
  units(): UnitRunner<DuoCheckpoint>[] {
    return [...this.runs.values()].map((r) => r.runner);
  }

  status() {
    const logs = this.enabledLogs().map((n) => [n, this.logStatus(n)]);
    return { host: this.cfg.host, ikey: this.cfg.ikey, logs: Object.fromEntries(logs) };
  }

  private logStatus(name: DuoLogName) {
    const run = this.runs.get(name);
    if (!run)
      return { state: 'starting', events: 0, errors: 0, polls: 0, interval: this.cfg.logs[name].interval };
    const { runner, unit } = run;
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    return {
      state: runner.state,
      // Only a checkpoint this run wrote: the one it started from is not news.
      checkpoint: runner.checkpointAt === undefined ? undefined : iso(runner.lastCursor?.ts),
      events: runner.items,
      errors: runner.errors,
      polls: unit.polls,
      last_poll: iso(unit.lastPollAt),
      last_error: runner.lastError,
      interval: runner.intervalMs,
    };
  }

  /**
   * Reads every enabled log's checkpoint (or, without one, its imported start), so a corrupt one
   * stops the start, not a later poll.
   */
  async checkCheckpoints(state: StateStore): Promise<void> {
    for (const name of this.enabledLogs())
      if (!(await loadCheckpoint(state, checkpointKey(this.name, name))))
        await this.resumePoint.checkpoint(name);
  }

  async run(ctx: SourceContext): Promise<void> {
    await this.checkCheckpoints(ctx.state);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.all(this.enabledLogs().map((name) => this.runLog(name, ctx, stop)));
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      this.client.close();
    }
    const runs = [...this.runs.values()];
    if (!ctx.signal.aborted && runs.length > 0 && runs.every((r) => r.runner.state === 'failed')) {
      // Nothing is left running: report it as a failed source, not as one that finished its work.
      throw new SourceError(`every Duo log stopped: ${runs[0]!.runner.lastError ?? 'unknown error'}`, {
        retryable: false,
      });
    }
  }

  /** One log in the daemon: until stopped, or failed for good (wrong key, corrupt checkpoint). */
  private async runLog(name: DuoLogName, ctx: SourceContext, stop: AbortController): Promise<void> {
    const unit = new DuoLogUnit(name, this.logContext(ctx.state, ctx.log));
    const runner = new UnitRunner(unit, {
      ...this.runnerOptions(ctx),
      signal: stop.signal,
      intervalMs: this.cfg.logs[name].interval,
    });
    this.runs.set(name, { unit, runner });
    try {
      await runner.run();
    } catch (e) {
      // A checkpoint a person must look at stops every log; a log Duo refuses stops alone.
      if (e instanceof StateError || e instanceof ConfigError) {
        stop.abort();
        throw e;
      }
    }
  }

  /** One poll of a log (until caught up, max_events_per_poll, the deadline or a failure), as `pull duo --stdout` does. */
  pollLog(name: DuoLogName, ctx: PollContext): Promise<PollResult> {
    return this.pullLog(name, ctx, true);
  }

  /**
   * Pulls every enabled log until caught up (or the deadline), as a scheduled Lambda does. A log
   * that cannot be read is reported and the others have their turn.
   */
  async pollAll(ctx: PollContext): Promise<{ results: PollResult[]; errors: Error[] }> {
    const results: PollResult[] = [];
    const errors: Error[] = [];
    for (const name of this.enabledLogs()) {
      try {
        results.push(await this.pullLog(name, ctx, false));
      } catch (e) {
        if (e instanceof StateError) throw e;
        errors.push(e as Error);
        ctx.log.error({ source: this.name, log: name }, `${this.name} ${name} log: ${describeError(e)}`);
      }
    }
    return { results, errors };
  }

  /** A one-shot run of a log's unit: a failed read is thrown, a failed delivery reported. */
  private async pullLog(name: DuoLogName, ctx: PollContext, onePoll: boolean): Promise<PollResult> {
    const unit = new DuoLogUnit(name, {
      ...this.logContext(ctx.state, ctx.log),
      onPage: ctx.onPage,
      onePoll,
    });
    let failed: string | undefined;
    const runner = new UnitRunner(unit, {
      ...this.runnerOptions(ctx),
      process: async (batch) => {
        const res = await ctx.process(batch);
        const bad = res.items.find((r) => !isAcked(r));
        failed = bad ? (bad.error ?? 'delivery failed') : undefined;
        return res;
      },
      signal: ctx.signal ?? new AbortController().signal,
      deadline: ctx.deadline,
      once: true,
    });
    await runner.run();
    const result: PollResult = {
      log: name,
      events: runner.items,
      pages: unit.pages,
      caughtUp: unit.caughtUp,
    };
    return failed === undefined ? result : { ...result, failed };
  }

  private runnerOptions(ctx: {
    process: PollContext['process'];
    committed?: SourceContext['committed'];
    log: Logger;
  }): Omit<RunnerOptions, 'signal'> {
    return {
      process: ctx.process,
      committed: ctx.committed,
      log: ctx.log,
      retry: DUO_API_RETRY,
      // One commit per page, as Duo pages: a checkpoint holds every id seen at its millisecond.
      bound: { items: V1_PAGE, bytes: defaultBound.bytes },
    };
  }

  private logContext(state: StateStore, log: Logger): DuoLogContext {
    return {
      source: this.name,
      cfg: this.cfg,
      client: this.client,
      resumePoint: this.resumePoint,
      state,
      log,
      now: this.now,
    };
  }
}

export async function createDuoClient(cfg: DuoSourceConfig, log?: Logger): Promise<DuoClient> {
  return new DuoClient({
    host: cfg.host,
    ikey: cfg.ikey,
    skey: await resolveSecret(cfg.skey),
    endpoint: cfg.endpoint,
    retry: {
      maxRateLimited: cfg.retry.max_rate_limited,
      maxErrors: cfg.retry.max_errors,
      baseMs: cfg.retry.backoff,
      maxMs: cfg.retry.max_backoff,
    },
    timeoutMs: cfg.timeout,
    maxResponseBytes: cfg.max_response_bytes,
    log,
  });
}

export async function create(cfg: DuoSourceConfig, deps: Deps): Promise<Source> {
  return new DuoSource(cfg, await createDuoClient(cfg, deps.log));
}
