import { z } from 'zod';
import type { RawItem } from '../../core/batch.js';
import { type LambdaContext, lambdaApp, pickSource } from './bootstrap.js';
import { deliverRemembered } from './deliver.js';
import { type BatchResponse, batchResponse, parseEvent } from './events.js';

/** The fields of a Kinesis Lambda event this handler relies on (others pass through unread). */
export const kinesisEventSchema = z.object({
  Records: z.array(
    z.object({
      eventID: z.string(),
      eventSourceARN: z.string(),
      kinesis: z.object({
        sequenceNumber: z.string(),
        partitionKey: z.string(),
        data: z.string(),
        approximateArrivalTimestamp: z.number().optional(),
      }),
    }),
  ),
});
export type KinesisEvent = z.infer<typeof kinesisEventSchema>;

export function kinesisItems(event: KinesisEvent, source: string): RawItem[] {
  return event.Records.map((r) => {
    const stream = r.eventSourceARN.split('/').pop() ?? r.eventSourceARN;
    const shard = r.eventID.split(':')[0] ?? 'shard';
    return {
      ackId: r.kinesis.sequenceNumber,
      origin: {
        source,
        type: 'kinesis',
        ref: `${stream}/${shard}/${r.kinesis.sequenceNumber}`,
        attrs: { stream, shard, sequence: r.kinesis.sequenceNumber, partition_key: r.kinesis.partitionKey },
      },
      body: { kind: 'base64', text: r.kinesis.data },
    };
  });
}

/**
 * Lambda retries a shard's batch from its first failed record, maybe in another container: the
 * delivery memory is kept per shard so the sinks that took a record's events are skipped then.
 */
function memoryKey(event: KinesisEvent, source: string): string {
  const first = event.Records[0];
  const stream = first?.eventSourceARN.split('/').pop() ?? 'none';
  const shard = first?.eventID.split(':')[0] ?? 'none';
  return `delivery-memory/${source}/${stream}/${shard}`;
}

/**
 * Kinesis trigger (with ReportBatchItemFailures). Failed records come back as
 * `batchItemFailures`; Lambda checkpoints before the lowest one and retries from there. When
 * every record failed the handler throws, so that a function deployed without
 * ReportBatchItemFailures still retries instead of taking the batch as a success. The sinks that
 * took a failed record's events are remembered in the state store (see StoredDeliveryMemory), so
 * the retry gives those events only to the sinks that lack them.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<BatchResponse> {
  const app = await lambdaApp();
  const records = parseEvent(kinesisEventSchema, event, 'a Kinesis event');
  const source = pickSource(app.config, ['kinesis']);
  const items = kinesisItems(records, source);
  const result = await deliverRemembered(app, { source, items }, context, [memoryKey(records, source)]);
  const failed = result.items.filter((r) => r.status === 'failed');
  app.deps.log.info(
    { records: items.length, events: result.events, failed: failed.length, cut_short: result.cutShort },
    'kinesis batch done',
  );
  return batchResponse(
    failed.map((r) => r.ackId),
    items.length,
    'records',
    failed[0]?.error,
  );
}
