import type { Batch, ItemResult } from '../../core/batch.js';

interface ReadBase<C> {
  batch: Batch;
  /** How far behind the newest data the unit is after this read, when the source knows. */
  lagMs?: number;
  /**
   * Where the read ends, when that is past the cursor after its last item (Duo's next_offset moves
   * even over a page filtered empty). Committed instead of `cursorAfter(last)` once every item is
   * delivered. A read with no items but an end cursor is progress, not "nothing yet": it is
   * committed and reading goes on at once.
   */
  endCursor?: C;
}

/** A read whose items are in order (a shard, a Duo log): a failure holds back everything after it. */
export interface OrderedRead<C> extends ReadBase<C> {
  /** The cursor to commit once items 0..index are all delivered. */
  cursorAfter(index: number): C;
}

/**
 * A read whose items do not wait for each other (SQS messages, inbox files, backfill objects):
 * a failed item is retried on the source's own schedule (visibility timeout, a per-file retry
 * time, the retry list) while the items after it go on.
 */
export interface SettledRead<C> extends ReadBase<C> {
  /** The cursor recording one delivered slice (items `from`..), failures included. */
  settle(from: number, results: readonly ItemResult[]): C;
}

/** One read of a unit: raw items and how to turn their delivery into a cursor to commit. */
export type UnitRead<C> = OrderedRead<C> | SettledRead<C>;

/**
 * How a pass over a unit ended: `idle` (caught up for now: read again after the interval) or
 * `finished` (nothing will ever come again, e.g. a shard closed by a reshard and read to its end).
 */
export type PassEnd = 'idle' | 'finished';

/**
 * A piece of a source that is read in order and resumed from a cursor: a Kinesis shard, one Duo
 * log, an SQS queue, an inbox folder, an S3 prefix. It knows how to read from a cursor and how to
 * commit one; the runner owns retries, back-off, pausing, deadlines and metrics.
 */
export interface WorkUnit<C> {
  readonly id: string;
  /** The committed cursor (checkpoint) to start from; undefined starts at the unit's beginning. */
  load(): Promise<C | undefined>;
  /**
   * Reads on from `from`. A read with no items means "nothing yet": the runner waits the interval
   * and asks the same generator again. Throwing ends the pass; the runner backs off and starts a
   * new pass from the last committed cursor.
   */
  read(from: C | undefined, signal: AbortSignal): AsyncGenerator<UnitRead<C>, PassEnd>;
  commit(cursor: C): Promise<void>;
  /** Records that the unit is finished for good (called once, after a pass ended `finished`). */
  finish?(last: C | undefined): Promise<void>;
  /**
   * Reads a cursor an operator typed (`checkpoint NAME set VALUE`); throws ControlError for text
   * that is not one. Without it, the unit's checkpoint cannot be set by hand.
   */
  parseCursor?(text: string): C;
  /** A cursor as text for `checkpoint NAME show` (JSON of the cursor without it). */
  describeCursor?(cursor: C): string;
}
