import type { App } from '../../app.js';
import type { Batch, ItemResult } from '../../core/batch.js';
import { Deadline } from '../../core/deadline.js';
import { type Pipeline, runBatch } from '../../core/pipeline.js';
import { runOnce } from '../runner/runner.js';
import type { SettledRead } from '../runner/unit.js';
import type { LambdaContext } from './bootstrap.js';
import { StoredDeliveryMemory } from './stored-memory.js';

export interface EventDelivery {
  /** One result per item of the event, in order; an item the deadline kept from being tried is failed. */
  items: ItemResult[];
  events: number;
  cutShort: boolean;
}

const NOT_TRIED = 'not tried: deadline reached';

/**
 * Delivers the items of one Lambda event through the runner's one-shot path (the same slicing,
 * deadline and commit rules as every unit). Items are settled one by one: Lambda itself retries
 * what is reported failed (from the lowest failed sequence number for Kinesis), so a failure
 * holds nothing else back here.
 */
export async function deliverEvent(
  app: App,
  batch: Batch,
  context: LambdaContext,
  pipeline: Pipeline = app.pipeline,
): Promise<EventDelivery> {
  const deadline = Deadline.fromLambda(context);
  const settled: (ItemResult | undefined)[] = [];
  let events = 0;
  let cutShort = false;
  const read: SettledRead<void> = {
    batch,
    settle: (from, results) => {
      results.forEach((r, i) => {
        settled[from + i] = r;
      });
    },
  };
  await runOnce(read, {
    id: `${batch.source} (Lambda event)`,
    log: app.deps.log,
    deadline,
    process: async (slice, cap) => {
      const result = await runBatch(slice, pipeline, deadline, cap);
      events += result.events;
      cutShort ||= result.cutShort;
      return result;
    },
  });
  const items = batch.items.map(
    (item, i) => settled[i] ?? { ackId: item.ackId, status: 'failed' as const, events: 0, error: NOT_TRIED },
  );
  return { items, events, cutShort: cutShort || settled.length < batch.items.length };
}

/**
 * `deliverEvent` for an event Lambda retries under `keys` (a shard's batch, an asynchronous
 * invocation's request id): the sinks that took events in an earlier try are read from the state
 * store and skipped, and what this try's sinks took is kept there for the next one if any item failed.
 */
export async function deliverRemembered(
  app: App,
  batch: Batch,
  context: LambdaContext,
  keys: readonly string[],
): Promise<EventDelivery> {
  const memory = await StoredDeliveryMemory.load(app.state, keys, app.deps.log);
  const result = await deliverEvent(app, batch, context, { ...app.pipeline, memory });
  await memory.settle(result.items.some((r) => r.status === 'failed') ? keys : []);
  return result;
}
