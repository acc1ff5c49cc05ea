/**
 * The most events one delivery (a runner slice, one `runBatch` call) takes before it stops
 * starting new items: one record or object can hold any number of events, so a cap by items
 * and bytes alone does not bound what a crash replays. An item is never split, so one item's
 * events may still run past it: the cap bounds everything but the last item of a slice.
 */
export const MAX_UNCOMMITTED_EVENTS = 5_000;

/** Units (shards, logs, queues) whose uncommitted slices a replay guard covers in one output file at once. */
export const REPLAY_WRITERS = 8;

/**
 * How many of the latest events an idempotent sink's replay guard must recognize in each output
 * (a day file): every writer's uncommitted slice, derived so that raising the cap raises the guard.
 */
export const REPLAY_GUARD_EVENTS = MAX_UNCOMMITTED_EVENTS * REPLAY_WRITERS;

/** Per-delivery cap handed from the runner to `runBatch`. */
export interface EventCap {
  events: number;
}
