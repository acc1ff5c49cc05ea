/**
 * The most events one delivery (a runner slice, one `runBatch` call) takes before it stops
 * starting new items: one record or object can hold any number of events, so a cap by items
 * and bytes alone does not bound what a crash replays. An item is never split, so one item's
 * events may still run past it: the cap bounds everything but the last item of a slice.
 */
export const MAX_UNCOMMITTED_EVENTS = 5_000;

/**
 * Writers whose uncommitted slices a replay guard covers by its tail window alone. Units of the
 * runner do not rely on it: they name themselves (`Batch.writer`) and say when they committed, and
 * a guard reads back as far as the oldest of them wrote (see sinks/daily_files/replay-marks.ts).
 */
export const REPLAY_WRITERS = 8;

/**
 * How many of the latest events an idempotent sink's replay guard recognizes in each output (a
 * day file) without marks: every writer's uncommitted slice, so that raising the cap raises it.
 */
export const REPLAY_GUARD_EVENTS = MAX_UNCOMMITTED_EVENTS * REPLAY_WRITERS;

/** Per-delivery cap handed from the runner to `runBatch`. */
export interface EventCap {
  events: number;
}
