import type { App } from '../../app.js';
import type { RawItem } from '../../core/batch.js';
import { DeliveryError, describeError } from '../../core/errors.js';
import type { Origin } from '../../core/event.js';
import { cloudWatchLogsEventSchema } from '../../parsers/cloudwatch_logs/schema.js';
import { type LambdaContext, lambdaApp, pickSource } from './bootstrap.js';
import { deliverRemembered } from './deliver.js';
import { parseEvent } from './events.js';
import { asyncInvocationKey } from './stored-memory.js';

export interface CloudWatchLogsHandlerResult {
  events: number;
  dead_lettered: number;
}

/** The one item of an invocation: the base64 gzip payload, named by the request that carried it. */
export function cloudWatchLogsItem(data: string, source: string, requestId: string): RawItem {
  return {
    ackId: requestId,
    origin: {
      source,
      type: 'cloudwatch_logs',
      ref: `awslogs request ${requestId}`,
      attrs: { request_id: requestId },
    },
    body: { kind: 'base64', text: data },
  };
}

/**
 * An event that is no subscription at all (a misrouted trigger) goes to the dead-letter store
 * whole: retrying it cannot help, and the store keeps it for a look and a replay.
 */
async function deadLetterEvent(app: App, origin: Origin, event: unknown, error: unknown) {
  const source = origin.source;
  const line = describeError(error, origin);
  app.deps.log.warn({ source }, line);
  await app.pipeline.deadLetter.put({
    kind: 'item',
    source,
    origin,
    error: line,
    retryable: false,
    attempts: 1,
    data: Buffer.from(JSON.stringify(event) ?? '').toString('base64'),
  });
}

/**
 * CloudWatch Logs subscribed directly to the function (`{"awslogs":{"data":…}}`). The trigger is
 * an asynchronous invocation, so there is no partial-batch answer:
 * - input that cannot be read (bad base64, gzip or shape; an event of another kind) is
 *   dead-lettered and the invocation succeeds — retrying the same bytes cannot help;
 * - a delivery that failed retryably (a sink down, the deadline reached) throws, so Lambda
 *   retries the event (twice by default) and then hands it to the function's on-failure
 *   destination or DLQ. Event ids are fixed by log group, stream and CloudWatch event id, and
 *   the sinks that took the events are remembered under the request id (which a retry keeps),
 *   so a retry gives them only to the sinks that lack them.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<CloudWatchLogsHandlerResult> {
  const app = await lambdaApp();
  const types = app.config.sources.some((s) => s.type === 'kinesis')
    ? ['kinesis']
    : [app.config.sources[0]!.type];
  const source = pickSource(app.config, types);
  const requestId = context.awsRequestId ?? 'unknown';
  const origin = { source, type: 'cloudwatch_logs', ref: `awslogs request ${requestId}` };
  let data: string;
  try {
    data = parseEvent(cloudWatchLogsEventSchema, event, 'a CloudWatch Logs subscription event', origin)
      .awslogs.data;
  } catch (e) {
    await deadLetterEvent(app, origin, event, e);
    return { events: 0, dead_lettered: 1 };
  }
  const item = cloudWatchLogsItem(data, source, requestId);
  // A retry of this invocation keeps its request id: the sinks that took the events skip them then.
  const keys = asyncInvocationKey(source, context.awsRequestId);
  const result = await deliverRemembered(app, { source, items: [item] }, context, keys);
  const r = result.items[0]!;
  app.deps.log.info(
    { events: result.events, status: r.status, rejected: r.rejected ?? 0, cut_short: result.cutShort },
    'cloudwatch logs event done',
  );
  if (r.status === 'failed') {
    throw new DeliveryError(`CloudWatch Logs event not delivered: ${r.error ?? 'unknown'}`, {
      sink: 'pipeline',
      retryable: true,
    });
  }
  return { events: result.events, dead_lettered: r.status === 'dead-lettered' ? 1 : 0 };
}
