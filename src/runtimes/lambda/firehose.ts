import { z } from 'zod';
import type { RawItem } from '../../core/batch.js';
import type { Sink, SinkFailure } from '../../core/component.js';
import { DeliveryError } from '../../core/errors.js';
import type { LogEvent } from '../../core/event.js';
import type { Pipeline } from '../../core/pipeline.js';
import { type LambdaContext, lambdaApp, pickSource } from './bootstrap.js';
import { deliverEvent } from './deliver.js';
import { parseEvent } from './events.js';

/** The Firehose data-transformation event (records from Direct PUT or a Kinesis stream). */
export const firehoseEventSchema = z.object({
  invocationId: z.string(),
  deliveryStreamArn: z.string(),
  region: z.string().optional(),
  records: z.array(
    z.object({
      recordId: z.string(),
      approximateArrivalTimestamp: z.number().optional(),
      data: z.string(),
      kinesisRecordMetadata: z
        .object({ shardId: z.string().optional(), sequenceNumber: z.string().optional() })
        .passthrough()
        .optional(),
    }),
  ),
});
export type FirehoseTransformEvent = z.infer<typeof firehoseEventSchema>;

export interface FirehoseTransformResponse {
  records: { recordId: string; result: 'Ok' | 'Dropped' | 'ProcessingFailed'; data: string }[];
}

/** Keeps each record's events, in order, as the "delivery" of a transformation. */
class RecordCollector implements Sink {
  readonly name = 'firehose-transform';
  readonly byRecord = new Map<string, string[]>();
  async write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    for (const e of events) {
      const id = String(e.origin.attrs?.record_id ?? '');
      const list = this.byRecord.get(id) ?? [];
      list.push(JSON.stringify(e.doc));
      this.byRecord.set(id, list);
    }
    return [];
  }
  async close(): Promise<void> {}
}

export function firehoseItems(event: FirehoseTransformEvent, source: string): RawItem[] {
  const stream = event.deliveryStreamArn.split('/').pop() ?? event.deliveryStreamArn;
  return event.records.map((r) => ({
    ackId: r.recordId,
    origin: {
      source,
      type: 'firehose',
      ref: `${stream}/${r.recordId}`,
      attrs: { stream, record_id: r.recordId, arrival: r.approximateArrivalTimestamp },
    },
    body: { kind: 'base64', text: r.data },
  }));
}

/**
 * Firehose data transformation: every record comes back with the same recordId, as `Ok` with
 * its normalized events as base64 NDJSON, `Dropped` when it holds no event (a CloudWatch Logs
 * control message, or everything filtered out), or `ProcessingFailed` with its original data
 * when it cannot be read (Firehose writes those to the error output prefix; the dead-letter store
 * keeps them too). A retryable problem throws, so Firehose invokes again.
 */
export async function handler(event: unknown, context: LambdaContext): Promise<FirehoseTransformResponse> {
  const app = await lambdaApp();
  const input = parseEvent(firehoseEventSchema, event, 'a Firehose transformation event');
  const types = app.config.sources.some((s) => s.type === 'kinesis')
    ? ['kinesis']
    : [app.config.sources[0]!.type];
  const source = pickSource(app.config, types);
  const items = firehoseItems(input, source);
  const collector = new RecordCollector();
  const route = app.pipeline.route(source);
  const pipeline: Pipeline = { ...app.pipeline, route: () => ({ ...route, sinks: [collector] }) };
  const result = await deliverEvent(app, { source, items }, context, pipeline);
  const retry = result.items.find((r) => r.status === 'failed');
  if (retry)
    throw new DeliveryError(
      `record ${retry.ackId} could not be transformed now: ${retry.error ?? 'unknown'}`,
      {
        sink: 'firehose-transform',
        retryable: true,
      },
    );
  const records = input.records.map((r, i) => {
    const status = result.items[i]!.status;
    const lines = collector.byRecord.get(r.recordId);
    if (status === 'dead-lettered' && !lines)
      return { recordId: r.recordId, result: 'ProcessingFailed' as const, data: r.data };
    if (!lines) return { recordId: r.recordId, result: 'Dropped' as const, data: r.data };
    return {
      recordId: r.recordId,
      result: 'Ok' as const,
      data: Buffer.from(`${lines.join('\n')}\n`).toString('base64'),
    };
  });
  app.deps.log.info(
    {
      records: records.length,
      events: result.events,
      dropped: records.filter((r) => r.result === 'Dropped').length,
      failed: records.filter((r) => r.result === 'ProcessingFailed').length,
    },
    'firehose transformation done',
  );
  return { records };
}
