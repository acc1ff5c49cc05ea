import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { Sink, SinkFailure } from '../../core/component.js';
import { DeliveryError } from '../../core/errors.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import { awsClientConfig } from '../../platform/aws.js';
import { InFlight } from '../inflight.js';
import type { FirehoseSinkConfig } from './schema.js';

/** Firehose refuses a record over 1,000 KiB. */
export const MAX_RECORD_BYTES = 1000 * 1024;

/** Calls of at most `maxRecords` records and `maxBytes` bytes; records too big alone are set apart. */
export function batchRecords(
  data: readonly Buffer[],
  maxRecords: number,
  maxBytes: number,
): { calls: number[][]; oversize: number[] } {
  const calls: number[][] = [];
  const oversize: number[] = [];
  let cur: number[] = [];
  let bytes = 0;
  data.forEach((d, i) => {
    if (d.length > MAX_RECORD_BYTES || d.length > maxBytes) {
      oversize.push(i);
      return;
    }
    if (cur.length > 0 && (cur.length >= maxRecords || bytes + d.length > maxBytes)) {
      calls.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += d.length;
  });
  if (cur.length) calls.push(cur);
  return { calls, oversize };
}

/**
 * One event per Firehose record (its ECS document as one JSON line, so an S3 destination holds
 * NDJSON). The answer lists each record; only the failed ones are reported, retryably, so the
 * core sends just those again. Firehose itself is at-least-once: a retried call can deliver a
 * record twice, which `event.id` lets the destination drop.
 */
export class FirehoseSink implements Sink {
  readonly writesText = true;
  readonly name: string;
  private readonly inflight = new InFlight();

  constructor(
    private readonly cfg: FirehoseSinkConfig,
    private readonly client: FirehoseClient,
  ) {
    this.name = cfg.name;
  }

  write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    return this.inflight.track(this.deliver(events));
  }

  private async deliver(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const data = events.map((e) => Buffer.from(`${serializedDoc(e)}\n`));
    const { calls, oversize } = batchRecords(data, this.cfg.max_records, this.cfg.max_bytes);
    const failures: SinkFailure[] = oversize.map((index) =>
      this.failure(
        index,
        false,
        `record is ${data[index]!.length} bytes, over Firehose's ${MAX_RECORD_BYTES}`,
      ),
    );
    const queue = [...calls];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await this.put(c, data, failures);
    };
    await Promise.all(Array.from({ length: Math.min(this.cfg.concurrency, queue.length) }, worker));
    return failures.sort((a, b) => a.index - b.index);
  }

  private async put(indexes: number[], data: Buffer[], failures: SinkFailure[]): Promise<void> {
    try {
      const out = await this.client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: this.cfg.delivery_stream,
          Records: indexes.map((i) => ({ Data: data[i]! })),
        }),
      );
      const answers = out.RequestResponses ?? [];
      if (answers.length !== indexes.length) {
        for (const i of indexes)
          failures.push(
            this.failure(i, true, `answer lists ${answers.length} records for ${indexes.length}`),
          );
        return;
      }
      answers.forEach((a, k) => {
        if (a.ErrorCode)
          failures.push(this.failure(indexes[k]!, true, `${a.ErrorCode}: ${a.ErrorMessage ?? ''}`));
      });
    } catch (e) {
      const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const status = err.$metadata?.httpStatusCode;
      // Validation errors come from our own batching going wrong or a record the service will
      // never take; everything else (throttling, outage, credentials) can pass later.
      const permanent = err.name === 'ValidationException' || err.name === 'InvalidArgumentException';
      const why = `${err.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${String(err.message ?? '').slice(0, 200)}`;
      for (const i of indexes) failures.push(this.failure(i, !permanent, why, e));
    }
  }

  private failure(index: number, retryable: boolean, reason: string, cause?: unknown): SinkFailure {
    return {
      index,
      retryable,
      error: new DeliveryError(`${this.cfg.delivery_stream}: ${reason}`, {
        sink: this.name,
        retryable,
        cause,
      }),
    };
  }

  async close(): Promise<void> {
    await this.inflight.drain();
  }
}

export function create(cfg: FirehoseSinkConfig): Sink {
  return new FirehoseSink(cfg, new FirehoseClient(awsClientConfig(cfg.aws)));
}
