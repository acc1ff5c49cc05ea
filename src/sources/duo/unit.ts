import type { Batch, RawItem } from '../../core/batch.js';
import type { Logger, StateStore } from '../../core/component.js';
import { ControlError } from '../../core/errors.js';
import type { PassEnd, UnitRead, WorkUnit } from '../../runtimes/runner/unit.js';
import { Cursor, checkpointKey, type DuoCheckpoint, loadCheckpoint } from './checkpoint.js';
import type { DuoClient } from './client.js';
import type { ResumePoint } from './import.js';
import { type DuoLogSpec, LOGS } from './logs.js';
import { type DuoPage, type PageEntry, V1_PAGE, v1Pages, v2Pages, walkPage } from './pages.js';
import type { DuoLogName, DuoSourceConfig } from './schema.js';

/** An ISO 8601 time with a zone: a time without one would be read in the host's zone. */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,3})?)?(?:Z|[+-]\d\d:\d\d)$/;

/** What one log's unit needs of its source and of the run. */
export interface DuoLogContext {
  source: string;
  cfg: DuoSourceConfig;
  client: DuoClient;
  resumePoint: ResumePoint;
  state: StateStore;
  log: Logger;
  now(): number;
  /** Called after each delivered page with where the log stands (the CLI's progress line). */
  onPage?(p: { log: DuoLogName; ts: number; events: number }): void;
  /** End the pass after max_events_per_poll instead of polling on (one poll: `pull duo --stdout`). */
  onePoll?: boolean;
}

interface PollEnd {
  at: DuoCheckpoint;
  /** `stopped`: the run is stopping (drain, a one-shot run's signal). */
  end: 'caught-up' | 'max' | 'stopped';
}

/**
 * One Duo log as a work unit: a pass polls it page by page from its checkpoint (a read per page)
 * and, once caught up, hands the runner an empty read so it waits the log's interval before the
 * next poll. The cursor is the checkpoint: newest timestamp, ids seen at it, Duo's next_offset.
 */
export class DuoLogUnit implements WorkUnit<DuoCheckpoint> {
  readonly id: DuoLogName;
  /** Polls that reached the end of the log (duo_watcher's "count"), and when the last one did. */
  polls = 0;
  lastPollAt: number | undefined;
  pages = 0;
  /** Events of fully delivered pages (the progress line's count). */
  events = 0;
  /** The last poll read the log to its end (nothing newer than Duo's two-minute delay is left). */
  caughtUp = false;
  private readonly spec: DuoLogSpec;

  constructor(
    readonly log: DuoLogName,
    private readonly ctx: DuoLogContext,
  ) {
    this.id = log;
    this.spec = LOGS[log];
  }

  /** The checkpoint, else the imported start (resume_from), else `lookback` before now. */
  async load(): Promise<DuoCheckpoint> {
    const { state, resumePoint, cfg, now } = this.ctx;
    return (
      (await loadCheckpoint(state, checkpointKey(this.ctx.source, this.log))) ??
      (await resumePoint.checkpoint(this.log)) ?? { v: 1, ts: now() - cfg.lookback, seen: [] }
    );
  }

  async *read(
    from: DuoCheckpoint | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<UnitRead<DuoCheckpoint>, PassEnd> {
    let at = from ?? (await this.load());
    for (;;) {
      this.caughtUp = false;
      const poll = yield* this.poll(at, signal);
      at = poll.at;
      this.polls++;
      this.lastPollAt = this.ctx.now();
      if (poll.end === 'stopped') return 'idle';
      if (poll.end === 'max') {
        if (this.ctx.onePoll) return 'idle';
        continue;
      }
      this.caughtUp = true;
      // Nothing more for now: the runner waits the log's interval, then this loop polls again.
      yield { batch: this.toBatch([]), cursorAfter: () => at, lagMs: this.lagOf(at) };
    }
  }

  /**
   * `checkpoint auth set 2026-11-30T08:00:00Z` (or epoch milliseconds): the log reads on from that
   * time. Events at exactly that millisecond come again; the day files' ids keep them single.
   */
  parseCursor(text: string): DuoCheckpoint {
    const ms = /^\d{10,13}$/.test(text) ? Number(text) : ISO_TIME.test(text) ? Date.parse(text) : Number.NaN;
    if (!Number.isFinite(ms) || ms > this.ctx.now())
      throw new ControlError(
        `${this.id}: a checkpoint is a time, ISO 8601 with a zone (2026-11-30T08:00:00Z) or epoch milliseconds, not in the future`,
        { refusal: 'invalid' },
      );
    return { v: 1, ts: ms, seen: [] };
  }

  describeCursor(cursor: DuoCheckpoint): string {
    const at = new Date(cursor.ts).toISOString();
    return cursor.next_offset ? `${at} (paging at ${cursor.next_offset})` : at;
  }

  async commit(cursor: DuoCheckpoint): Promise<void> {
    await this.ctx.state.put(checkpointKey(this.ctx.source, this.log), {
      ...cursor,
      updated: new Date().toISOString(),
    });
  }

  /** One poll: from `start` until the log is caught up (or max_events_per_poll), one read per page. */
  private async *poll(
    start: DuoCheckpoint,
    signal: AbortSignal,
  ): AsyncGenerator<UnitRead<DuoCheckpoint>, PollEnd> {
    const maxtime = this.ctx.now() - this.ctx.cfg.delay;
    const cursor = new Cursor(start);
    if (this.spec.v2 && cursor.ts >= maxtime) return { at: start, end: 'caught-up' };
    const max = this.ctx.cfg.logs[this.log].max_events_per_poll;
    // v1 has no maxtime: the walk leaves the last two minutes for the next poll, as Duo advises.
    const walkUpTo = this.spec.v2 ? undefined : maxtime;
    let events = 0;
    for await (const page of this.pagesFrom(cursor, maxtime, signal)) {
      const before = cursor.toCheckpoint();
      const { entries, tooNew } = walkPage(cursor, this.spec, page.events, walkUpTo);
      cursor.nextOffset = page.nextOffset;
      const end = cursor.toCheckpoint();
      if (entries.length > 0 || !samePosition(before, end))
        yield this.readOf(page, entries, before, end, walkUpTo);
      this.notePage(entries.length, cursor.ts);
      events += entries.length;
      if (signal.aborted) return { at: end, end: 'stopped' };
      if (tooNew || this.stuckInOneSecond(page, entries, before, end)) break;
      if (events >= max) return { at: end, end: 'max' };
    }
    return { at: cursor.toCheckpoint(), end: 'caught-up' };
  }

  private pagesFrom(cursor: Cursor, maxtime: number, signal: AbortSignal): AsyncGenerator<DuoPage, void> {
    const { client, cfg } = this.ctx;
    if (!this.spec.v2) return v1Pages(client, this.spec, () => cursor.ts, signal);
    const window = { mintime: cursor.ts, maxtime, limit: cfg.limit, nextOffset: cursor.nextOffset };
    return v2Pages(client, this.spec, window, signal);
  }

  /**
   * A page's new events. Delivered in part, it resumes by time and seen ids (Duo's next_offset
   * cannot point inside a page); delivered whole, or filtered empty, it ends at `end`.
   */
  private readOf(
    page: DuoPage,
    entries: PageEntry[],
    before: DuoCheckpoint,
    end: DuoCheckpoint,
    walkUpTo: number | undefined,
  ): UnitRead<DuoCheckpoint> {
    return {
      batch: this.toBatch(entries, page.texts),
      cursorAfter: (i) => {
        const part = new Cursor(before);
        part.nextOffset = undefined;
        walkPage(part, this.spec, page.events.slice(0, entries[i]!.at + 1), walkUpTo);
        return part.toCheckpoint();
      },
      endCursor: end,
      lagMs: this.lagOf(end),
    };
  }

  private notePage(events: number, ts: number): void {
    this.pages++;
    this.events += events;
    this.ctx.onPage?.({ log: this.log, ts, events: this.events });
  }

  /** A full v1 page that moved nothing: more events share one second than v1 can page past. */
  private stuckInOneSecond(page: DuoPage, entries: PageEntry[], before: DuoCheckpoint, end: DuoCheckpoint) {
    if (this.spec.v2 || page.events.length < V1_PAGE || entries.length > 0 || end.ts !== before.ts)
      return false;
    this.ctx.log.warn(
      { source: this.ctx.source, log: this.log },
      `more than ${V1_PAGE} administrator events share the second ${new Date(end.ts).toISOString()}; Duo's v1 log cannot page past them`,
    );
    return true;
  }

  private lagOf(at: DuoCheckpoint): number {
    return Math.max(0, this.ctx.now() - at.ts);
  }

  private toBatch(entries: PageEntry[], texts?: DuoPage['texts']): Batch {
    const { source, cfg } = this.ctx;
    const items: RawItem[] = entries.map((e) => ({
      ackId: `${this.log}:${e.ts}:${e.id}`,
      origin: {
        source,
        type: 'duo',
        ref: `duo/${this.log}/${e.ts}/${e.id}`,
        attrs: { log: this.log, ts: e.ts, id: e.id, host: cfg.host },
      },
      body: { kind: 'object', value: e.event, text: texts?.[e.at] },
      parser: this.spec.parser,
    }));
    return { source, items };
  }
}

/** Whether two checkpoints stand at the same place (seen ids only grow at one timestamp). */
function samePosition(a: DuoCheckpoint, b: DuoCheckpoint): boolean {
  return (
    a.ts === b.ts &&
    a.seen.length === b.seen.length &&
    a.next_offset === b.next_offset &&
    a.skip?.count === b.skip?.count
  );
}
