import type { S3Client } from '@aws-sdk/client-s3';
import type { App } from '../../app.js';
import { DeliveryError } from '../../core/errors.js';
import { objectsFromNotification } from '../../sources/s3/notifications.js';
import { objectItem, s3ClientFor } from '../../sources/s3/objects.js';
import type { S3SqsSourceConfig } from '../../sources/s3/schema.js';
import { type LambdaContext, lambdaApp, pickSource } from './bootstrap.js';
import { deliverRemembered } from './deliver.js';
import { asyncInvocationKey } from './stored-memory.js';

let cached: { app: App; source: S3SqsSourceConfig; s3: S3Client } | undefined;

/** The s3_sqs source these handlers feed, and its S3 client (one per container, kept warm). */
export function s3Source(app: App): { source: S3SqsSourceConfig; s3: S3Client } {
  if (cached?.app === app) return cached;
  const name = pickSource(app.config, ['s3_sqs']);
  const source = app.config.sources.find((s) => s.name === name) as S3SqsSourceConfig;
  cached = { app, source, s3: s3ClientFor(source) };
  return cached;
}

export interface S3HandlerResult {
  objects: number;
  events: number;
  dead_lettered: number;
  skipped: string[];
}

/**
 * S3 notifications invoking the function directly (also through SNS, or as EventBridge
 * "Object Created" events). These invocations are asynchronous: when an object could not be
 * delivered the handler throws, so Lambda retries the event (and then sends it to the
 * function's on-failure destination); objects already delivered are not duplicated, their
 * event ids being fixed by bucket, key, etag and position, and the sinks that took the events of
 * an object that failed elsewhere are remembered in the state store under the request id (which
 * a retry keeps), so non-idempotent sinks do not get them twice.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<S3HandlerResult> {
  const app = await lambdaApp();
  const { source, s3 } = s3Source(app);
  // A shape that is no notification at all throws: there is nothing to acknowledge piecewise.
  const notice = objectsFromNotification(event);
  const items = notice.objects.map((ref, i) => objectItem(s3, source.name, ref, String(i), source.formats));
  // Lambda retries this invocation whole: the sinks that took an object's events skip them then.
  const keys = asyncInvocationKey(source.name, context.awsRequestId);
  const result = await deliverRemembered(app, { source: source.name, items }, context, keys);
  const failed = result.items.filter((r) => r.status === 'failed');
  const summary: S3HandlerResult = {
    objects: items.length,
    events: result.events,
    dead_lettered: result.items.filter((r) => r.status === 'dead-lettered').length,
    skipped: notice.skipped,
  };
  app.deps.log.info(
    { ...summary, failed: failed.length, cut_short: result.cutShort },
    's3 notification done',
  );
  if (failed.length) {
    throw new DeliveryError(
      `${failed.length} of ${items.length} objects failed: ${failed[0]!.error ?? 'unknown'}`,
      {
        sink: 'pipeline',
        retryable: true,
      },
    );
  }
  return summary;
}
