import { z } from 'zod';
import type { RawItem } from '../../core/batch.js';
import { Deadline } from '../../core/deadline.js';
import { DeliveryError, ParseError } from '../../core/errors.js';
import { runBatch } from '../../core/pipeline.js';
import { type LambdaContext, lambdaApp, pickSource } from './bootstrap.js';

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

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

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
 * Kinesis trigger (with ReportBatchItemFailures). Failed records come back as
 * `batchItemFailures`; Lambda checkpoints before the lowest one and retries from there. When
 * every record failed the handler throws, so that a function deployed without
 * ReportBatchItemFailures still retries instead of taking the batch as a success.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<BatchResponse> {
  const app = await lambdaApp();
  const parsed = kinesisEventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    // Not a Kinesis event at all: nothing can be acknowledged record by record.
    throw new ParseError(`not a Kinesis event: ${issue.path.join('.')} ${issue.message}`, {
      cause: parsed.error,
    });
  }
  const source = pickSource(app.config, ['kinesis']);
  const items = kinesisItems(parsed.data, source);
  const result = await runBatch({ source, items }, app.pipeline, Deadline.fromLambda(context));
  const failures = result.items
    .filter((r) => r.status === 'failed')
    .map((r) => ({ itemIdentifier: r.ackId }));
  app.deps.log.info(
    { records: items.length, events: result.events, failed: failures.length, cut_short: result.cutShort },
    'kinesis batch done',
  );
  if (items.length > 0 && failures.length === items.length) {
    throw new DeliveryError(`all ${items.length} records failed: ${result.items[0]!.error ?? 'unknown'}`, {
      sink: 'pipeline',
      retryable: true,
    });
  }
  return { batchItemFailures: failures };
}
