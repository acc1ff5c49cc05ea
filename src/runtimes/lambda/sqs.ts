import { z } from 'zod';
import { messageWork } from '../../sources/s3/messages.js';
import { type LambdaContext, lambdaApp } from './bootstrap.js';
import { deliverEvent } from './deliver.js';
import { type BatchResponse, batchResponse, parseEvent } from './events.js';
import { s3Source } from './s3.js';
import { StoredDeliveryMemory } from './stored-memory.js';

/** The fields of an SQS Lambda event this handler relies on. */
export const sqsEventSchema = z.object({
  Records: z.array(
    z.object({
      messageId: z.string(),
      body: z.string(),
      attributes: z.object({ ApproximateReceiveCount: z.string().optional() }).passthrough().optional(),
    }),
  ),
});
type SqsRecord = z.infer<typeof sqsEventSchema>['Records'][number];

/** A message received before may have been partly delivered: only its key is worth a read. */
function retried(r: SqsRecord): boolean {
  return Number(r.attributes?.ApproximateReceiveCount ?? '1') > 1;
}

function memoryKey(source: string, messageId: string): string {
  return `delivery-memory/${source}/sqs/${messageId}`;
}

/**
 * SQS trigger (with ReportBatchItemFailures) for a queue that S3 notifies, directly or through
 * SNS (raw delivery off) or EventBridge. A message is reported failed when any object it
 * announced could not be delivered; a body that is not a notification is dead-lettered and
 * acknowledged (retrying cannot fix it). When every message failed the handler throws, so a
 * function deployed without ReportBatchItemFailures still retries. The sinks that took events of
 * a failed message are remembered under the message id in the state store; only a message
 * received more than once (ApproximateReceiveCount) is looked up, so a first delivery reads nothing.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<BatchResponse> {
  const app = await lambdaApp();
  const sqsEvent = parseEvent(sqsEventSchema, event, 'an SQS event');
  const { source, s3 } = s3Source(app);
  const work = messageWork(
    sqsEvent.Records.map((r) => ({ id: r.messageId, body: r.body })),
    source,
    s3,
  );
  const items = work.flatMap((w) => w.items);
  const memory = await StoredDeliveryMemory.load(
    app.state,
    sqsEvent.Records.filter(retried).map((r) => memoryKey(source.name, r.messageId)),
    app.deps.log,
  );
  const result = await deliverEvent(app, { source: source.name, items }, context, {
    ...app.pipeline,
    memory,
  });
  const failedMessages = new Set<string>();
  for (const r of result.items) {
    if (r.status === 'failed') failedMessages.add(r.ackId.slice(0, r.ackId.lastIndexOf('/')));
  }
  await memory.settle([...failedMessages].map((id) => memoryKey(source.name, id)));
  app.deps.log.info(
    {
      messages: work.length,
      objects: items.length,
      events: result.events,
      failed: failedMessages.size,
      cut_short: result.cutShort,
    },
    'sqs batch done',
  );
  const first = result.items.find((r) => r.status === 'failed');
  return batchResponse([...failedMessages], work.length, 'messages', first?.error);
}
