import { resolveSecret } from '../../config/secrets.js';
import type { Batch, BatchResult, RawItem } from '../../core/batch.js';
import { isAcked } from '../../core/batch.js';
import type { Logger, Source, SourceContext, StateStore, UnitHealth } from '../../core/component.js';
import type { Deps } from '../../core/contracts.js';
import type { Deadline } from '../../core/deadline.js';
import { describeError, SourceError, StateError } from '../../core/errors.js';
import { type RetryPolicy, retryDelay, sleep } from '../../core/retry.js';
import { Cursor, checkpointKey, type DuoCheckpoint, loadCheckpoint } from './checkpoint.js';
import { DuoApiError, DuoClient } from './client.js';
import { ResumePoint } from './import.js';
import { LOGS } from './logs.js';
import type { DuoLogName, DuoSourceConfig } from './schema.js';

/** After the client's own retries gave up on Duo's API, wait longer than after a sink failure. */
const DUO_API_RETRY: RetryPolicy = { baseMs: 2000, maxMs: 120_000, floorMs: 1000 };

/** Duo's v1 administrator log answers at most this many events per request. */
const V1_PAGE = 1000;

export interface PollContext {
  state: StateStore;
  process(batch: Batch): Promise<BatchResult>;
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

interface LogStatus {
  state: 'idle' | 'polling' | 'backing-off' | 'stopped';
  checkpoint?: string;
  events: number;
  /** Polls that failed (Duo's API or a sink), counted by the daemon's loop. */
  errors: number;
  /** Polls done by the daemon's loop (duo_watcher's "count"). */
  polls: number;
  last_poll?: string;
  last_error?: string;
}

/**
 * The Duo Admin API logs (authentication, administrator, telephony), each polled by its own
 * loop with its own interval. A page is handed to the pipeline as one batch, one item per event;
 * the log's checkpoint moves only past events every sink has (or that were dead-lettered).
 */
export class DuoSource implements Source {
  readonly name: string;
  private readonly logStatus = new Map<DuoLogName, LogStatus>();
  /** Epoch-ms times behind /health and /metrics (the status shows them as ISO text). */
  private readonly logTimes = new Map<
    DuoLogName,
    { progressAt: number; checkpointAt?: number; checkpointTs?: number }
  >();
  private readonly resumePoint: ResumePoint;

  constructor(
    readonly cfg: DuoSourceConfig,
    readonly client: DuoClient,
    private readonly now: () => number = Date.now,
  ) {
    this.name = cfg.name;
    this.resumePoint = new ResumePoint(cfg.resume_from);
    for (const name of this.enabledLogs()) {
      this.logStatus.set(name, { state: 'idle', events: 0, errors: 0, polls: 0 });
      this.logTimes.set(name, { progressAt: now() });
    }
  }

  enabledLogs(): DuoLogName[] {
    return (Object.keys(this.cfg.logs) as DuoLogName[]).filter((n) => this.cfg.logs[n].enabled);
  }

  status() {
    const logs = [...this.logStatus].map(([n, s]) => [n, { ...s, interval: this.cfg.logs[n].interval }]);
    return { host: this.cfg.host, ikey: this.cfg.ikey, logs: Object.fromEntries(logs) };
  }

  /** One unit per log: a log stopped on a wrong secret is failed even while the others poll on. */
  unitHealth(): UnitHealth[] {
    return [...this.logStatus].map(([name, s]) => {
      const t = this.logTimes.get(name)!;
      return {
        unit: name,
        state: s.state === 'stopped' ? 'failed' : s.state === 'polling' ? 'running' : s.state,
        events: s.events,
        errors: s.errors,
        progressAt: t.progressAt,
        checkpointAt: t.checkpointAt,
        lagMs: t.checkpointTs === undefined ? undefined : Math.max(0, this.now() - t.checkpointTs),
        lastError: s.last_error,
      };
    });
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
      await Promise.all(
        this.enabledLogs().map((name) =>
          this.loop(name, { ...ctx, signal: stop.signal }).catch((e) => {
            stop.abort();
            throw e;
          }),
        ),
      );
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      this.client.close();
    }
    const statuses = this.enabledLogs().map((n) => this.logStatus.get(n)!);
    if (!ctx.signal.aborted && statuses.length > 0 && statuses.every((s) => s.state === 'stopped')) {
      // Nothing is left running: report it as a failed source, not as one that finished its work.
      throw new SourceError(`every Duo log stopped: ${statuses[0]!.last_error ?? 'unknown error'}`, {
        retryable: false,
      });
    }
  }

  private async loop(name: DuoLogName, ctx: SourceContext): Promise<void> {
    const status = this.logStatus.get(name)!;
    let failures = 0;
    while (!ctx.signal.aborted) {
      let wait = this.cfg.logs[name].interval;
      try {
        status.state = 'polling';
        const r = await this.pollLog(name, { ...ctx, log: ctx.log });
        status.polls++;
        status.last_poll = new Date(this.now()).toISOString();
        if (r.failed) {
          status.last_error = r.failed;
          status.errors++;
          wait = retryDelay(++failures);
        } else {
          failures = 0;
          this.logTimes.get(name)!.progressAt = this.now();
          if (!r.caughtUp) wait = 0;
        }
      } catch (e) {
        if (e instanceof StateError) throw e;
        status.last_error = describeError(e);
        status.errors++;
        if (e instanceof DuoApiError && !e.retryable) {
          // Wrong credentials or a request Duo will never accept: retrying only spams Duo.
          status.state = 'stopped';
          ctx.log.error(
            { source: this.name, log: name },
            `${this.name} ${name} log stopped: ${status.last_error}`,
          );
          return;
        }
        wait = retryDelay(++failures, DUO_API_RETRY);
        ctx.log.warn({ source: this.name, log: name, retry_in_ms: wait }, status.last_error);
      }
      status.state = wait > 0 ? (failures > 0 ? 'backing-off' : 'idle') : 'polling';
      await sleep(wait, ctx.signal);
    }
  }

  /** Reads one log from its checkpoint until caught up, the per-poll maximum, the deadline or a failure. */
  async pollLog(name: DuoLogName, ctx: PollContext): Promise<PollResult> {
    const spec = LOGS[name];
    const key = checkpointKey(this.name, name);
    const status = this.logStatus.get(name) ?? { state: 'idle', events: 0, errors: 0, polls: 0 };
    const times = this.logTimes.get(name) ?? { progressAt: this.now() };
    const start: DuoCheckpoint = { v: 1, ts: this.now() - this.cfg.lookback, seen: [] };
    const cursor = new Cursor(
      (await loadCheckpoint(ctx.state, key)) ?? (await this.resumePoint.checkpoint(name)) ?? start,
    );
    const maxtime = this.now() - this.cfg.delay;
    const max = this.cfg.logs[name].max_events_per_poll;
    const result: PollResult = { log: name, events: 0, pages: 0, caughtUp: false };
    const save = async () => {
      await ctx.state.put(key, cursor.toCheckpoint());
      status.checkpoint = new Date(cursor.ts).toISOString();
      times.checkpointAt = this.now();
      times.checkpointTs = cursor.ts;
    };

    let prefetched: Promise<unknown> | undefined;
    for (;;) {
      if (ctx.signal?.aborted || ctx.deadline?.expired()) return result;
      if (spec.v2 && cursor.ts >= maxtime) {
        result.caughtUp = true;
        return result;
      }
      const params: Record<string, string> = spec.v2
        ? {
            mintime: String(cursor.ts),
            maxtime: String(maxtime),
            limit: String(this.cfg.limit),
            sort: 'ts:asc',
            ...(cursor.nextOffset ? { next_offset: cursor.nextOffset } : {}),
          }
        : { mintime: String(Math.floor(cursor.ts / 1000)) };
      const response = await (prefetched ?? this.client.get(spec.path, params, ctx.signal));
      prefetched = undefined;
      const page = spec.read(response);
      result.pages++;
      if (spec.v2 && page.nextOffset && result.events + page.events.length < max) {
        // Ask for the next page while this one is delivered, so Duo's latency overlaps our work.
        // If this page fails, the answer is dropped and the next poll starts from the checkpoint.
        prefetched = this.client.get(spec.path, { ...params, next_offset: page.nextOffset }, ctx.signal);
        prefetched.catch(() => undefined);
      }

      const entries: { ts: number; id: string; event: unknown }[] = [];
      let prevTs = cursor.ts;
      let tooNew = false;
      for (const event of page.events) {
        // An event without a timestamp keeps its place in Duo's order; the parser dead-letters it.
        const t = spec.time(event);
        const ts = t ?? prevTs;
        prevTs = ts;
        if (!spec.v2 && ts > maxtime) {
          // v1 has no maxtime: leave the last two minutes for the next poll, as Duo advises.
          tooNew = true;
          break;
        }
        const id = spec.id(event);
        if (cursor.deliveredBefore(ts, id)) continue;
        if (!cursor.delivered(ts, id)) entries.push({ ts, id, event });
      }
      const before = cursor.ts;
      if (entries.length > 0) {
        const batch = this.toBatch(name, entries);
        const res = await ctx.process(batch);
        const firstFailed = res.items.findIndex((r) => !isAcked(r));
        const upto = firstFailed === -1 ? entries.length : firstFailed;
        for (let i = 0; i < upto; i++) cursor.advance(entries[i]!.ts, entries[i]!.id);
        result.events += upto;
        status.events += upto;
        if (firstFailed !== -1) {
          // Resume at the first undelivered event: by time and seen ids, not Duo's cursor.
          cursor.nextOffset = undefined;
          if (upto > 0) await save();
          result.failed = res.items[firstFailed]!.error ?? 'delivery failed';
          return result;
        }
      }
      if (spec.v2) {
        cursor.nextOffset = page.nextOffset;
        if (entries.length > 0 || page.nextOffset) await save();
        ctx.onPage?.({ log: name, ts: cursor.ts, events: result.events });
        if (!page.nextOffset) {
          result.caughtUp = true;
          return result;
        }
      } else {
        if (entries.length > 0) await save();
        ctx.onPage?.({ log: name, ts: cursor.ts, events: result.events });
        if (page.events.length < V1_PAGE || tooNew) {
          result.caughtUp = true;
          return result;
        }
        if (entries.length === 0 && cursor.ts === before) {
          ctx.log.warn(
            { source: this.name, log: name },
            `more than ${V1_PAGE} administrator events share the second ${new Date(cursor.ts).toISOString()}; Duo's v1 log cannot page past them`,
          );
          result.caughtUp = true;
          return result;
        }
      }
      if (result.events >= max) return result;
    }
  }

  /** Polls every enabled log until caught up (or the deadline), as a scheduled Lambda does. */
  async pollAll(ctx: PollContext): Promise<{ results: PollResult[]; errors: Error[] }> {
    const results: PollResult[] = [];
    const errors: Error[] = [];
    for (const name of this.enabledLogs()) {
      try {
        for (;;) {
          const r = await this.pollLog(name, ctx);
          const prev = results.find((x) => x.log === name);
          if (prev) {
            prev.events += r.events;
            prev.pages += r.pages;
            prev.caughtUp = r.caughtUp;
            prev.failed = r.failed;
          } else results.push(r);
          if (r.caughtUp || r.failed || ctx.deadline?.expired() || ctx.signal?.aborted) break;
        }
      } catch (e) {
        if (e instanceof StateError) throw e;
        errors.push(e as Error);
        ctx.log.error({ source: this.name, log: name }, `${this.name} ${name} log: ${describeError(e)}`);
      }
    }
    return { results, errors };
  }

  private toBatch(name: DuoLogName, entries: { ts: number; id: string; event: unknown }[]): Batch {
    const spec = LOGS[name];
    const items: RawItem[] = entries.map((e) => ({
      ackId: `${name}:${e.ts}:${e.id}`,
      origin: {
        source: this.name,
        type: 'duo',
        ref: `duo/${name}/${e.ts}/${e.id}`,
        attrs: { log: name, ts: e.ts, id: e.id, host: this.cfg.host },
      },
      body: { kind: 'object', value: e.event },
      parser: spec.parser,
    }));
    return { source: this.name, items };
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
