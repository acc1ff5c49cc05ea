import { KinesisClient, PutRecordsCommand, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { Sink, SinkFailure } from '../../core/component.js';
import { DeliveryError } from '../../core/errors.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import { awsClientConfig } from '../../platform/aws.js';
import { originalRecord } from '../record-format.js';
import type { KinesisSinkConfig } from './schema.js';

/** Kinesis limits: data plus partition key per record, partition key length. */
export const MAX_RECORD_BYTES = 1024 * 1024;
const MAX_KEY_CHARS = 256;

interface Prepared {
  index: number;
  data: Buffer;
  key: string;
  size: number;
}

/** Splits records into PutRecords calls within the count and byte limits, keeping their order. */
export function chunkRecords<T extends { size: number }>(
  records: T[],
  maxRecords: number,
  maxBytes: number,
): T[][] {
  const chunks: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const r of records) {
    if (cur.length > 0 && (cur.length >= maxRecords || bytes + r.size > maxBytes)) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += r.size;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

/** Per record: delivered, or the failure to report (throttling and internal errors are retryable). */
export function classifyEntries(
  entries: PutRecordsResultEntry[],
  sink: string,
): (DeliveryError | undefined)[] {
  return entries.map((e) =>
    e.ErrorCode
      ? new DeliveryError(`Kinesis refused the record: ${e.ErrorCode} ${e.ErrorMessage ?? ''}`.trim(), {
          sink,
          // Both codes PutRecords reports per record are temporary by nature.
          retryable: true,
        })
      : undefined,
  );
}

/**
 * Events as JSON records in a Kinesis stream (what the old Duo Lambda fed). Only records the
 * response marks failed are reported (retryable), so the pipeline retries just those; a record
 * over 1 MiB can never be accepted and fails permanently (dead-lettered).
 */
export class KinesisSink implements Sink {
  readonly name: string;
  /** Unless the partition key is a field of the document. */
  readonly writesText: boolean;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly cfg: KinesisSinkConfig,
    private readonly client: KinesisClient,
  ) {
    this.name = cfg.name;
    this.writesText = cfg.partition_key === 'id';
  }

  partitionKey(e: LogEvent): string {
    if (this.cfg.partition_key === 'id') return e.id;
    let v: unknown = e.doc;
    for (const part of this.cfg.partition_key.split('.'))
      v = (v as Record<string, unknown> | undefined)?.[part];
    const key = typeof v === 'string' || typeof v === 'number' ? String(v) : '';
    return key ? key.slice(0, MAX_KEY_CHARS) : e.id;
  }

  private record(e: LogEvent): Buffer | DeliveryError {
    return this.cfg.format === 'original' ? originalRecord(e, this.name) : Buffer.from(serializedDoc(e));
  }

  write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const p = this.put(events);
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  private async put(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const failures: SinkFailure[] = [];
    const ready: Prepared[] = [];
    events.forEach((e, index) => {
      const data = this.record(e);
      if (data instanceof DeliveryError) {
        failures.push({ index, retryable: false, error: data });
        return;
      }
      const key = this.partitionKey(e);
      const size = data.length + Buffer.byteLength(key);
      if (size > MAX_RECORD_BYTES) {
        failures.push({
          index,
          retryable: false,
          error: new DeliveryError(`event ${e.id} is ${size} bytes, over Kinesis's 1 MiB record limit`, {
            sink: this.name,
          }),
        });
      } else ready.push({ index, data, key, size });
    });
    for (const chunk of chunkRecords(ready, this.cfg.max_records_per_call, this.cfg.max_bytes_per_call)) {
      try {
        const out = await this.client.send(
          new PutRecordsCommand({
            StreamName: this.cfg.stream,
            Records: chunk.map((r) => ({ Data: r.data, PartitionKey: r.key })),
          }),
        );
        const verdicts = classifyEntries(out.Records ?? [], this.name);
        chunk.forEach((r, i) => {
          const err = verdicts[i] ?? (i >= (out.Records?.length ?? 0) ? missing(this.name) : undefined);
          if (err) failures.push({ index: r.index, retryable: err.retryable, error: err });
        });
      } catch (e) {
        const name = (e as Error).name;
        // A bad stream name or missing permission will not fix itself; throttling and outages will.
        const permanent =
          name === 'ResourceNotFoundException' ||
          name === 'AccessDeniedException' ||
          name === 'ValidationException';
        const err = new DeliveryError(`PutRecords to ${this.cfg.stream} failed: ${name}`, {
          sink: this.name,
          retryable: !permanent,
          cause: e,
        });
        for (const r of chunk) failures.push({ index: r.index, retryable: !permanent, error: err });
      }
    }
    return failures.sort((a, b) => a.index - b.index);
  }

  /** Waits for writes in flight (their records must land) before closing the connections. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.client.destroy();
  }
}

function missing(sink: string): DeliveryError {
  return new DeliveryError('Kinesis answered without a result for the record', { sink, retryable: true });
}

export function create(cfg: KinesisSinkConfig): Sink {
  return new KinesisSink(cfg, new KinesisClient(awsClientConfig(cfg.aws)));
}
