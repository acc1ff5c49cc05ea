import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Sink, SinkFailure } from '../../core/component.js';
import { DeliveryError, toError } from '../../core/errors.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import { safeNameComponent } from '../../core/names.js';
import { isoTime } from '../../core/time.js';
import { awsClientConfig } from '../../platform/aws.js';
import { InFlight } from '../inflight.js';
import type { S3ArchiveSinkConfig } from './schema.js';

const gzipAsync = promisify(gzip);

/**
 * The partition folder of an event: dataset, UTC date and hour of the event's own time. Throws
 * UnsafeNameError for a dataset that is no key segment (`.`, `..`): tools that map keys to paths
 * (s3 sync, mounts, emulators) would resolve it.
 */
export function partitionOf(e: LogEvent, style: 'hive' | 'path'): string {
  const d = isoTime(Number.isFinite(e.timestamp) ? e.timestamp : 0);
  const dataset = safeNameComponent(e.dataset, 'dataset');
  const [date, hour] = [d.slice(0, 10), d.slice(11, 13)];
  return style === 'hive'
    ? `dataset=${dataset}/date=${date}/hour=${hour}/`
    : `${dataset}/${date.replace(/-/g, '/')}/${hour}/`;
}

/**
 * The object name is a hash of the (sorted) event ids it holds: a batch sent again after a
 * failure or a crash lands on the same key and overwrites the object instead of adding a copy.
 */
export function objectName(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of [...ids].sort()) h.update(id).update('\n');
  return `${h.digest('base64url').slice(0, 32)}.ndjson.gz`;
}

/**
 * gzip NDJSON objects in S3, one per partition touched by a write. `write` resolves when every
 * object is stored (multipart for big ones); a failed object fails only its events, retryably.
 */
export class S3ArchiveSink implements Sink {
  readonly writesText = true;
  readonly name: string;
  private readonly recent = new Set<string>();
  private readonly inflight = new InFlight();

  constructor(
    private readonly cfg: S3ArchiveSinkConfig,
    private readonly client: S3Client,
  ) {
    this.name = cfg.name;
  }

  write(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    return this.inflight.track(this.deliver(events));
  }

  private async deliver(events: readonly LogEvent[]): Promise<SinkFailure[]> {
    const groups = new Map<string, number[]>();
    const seen = new Set<string>();
    const failures: SinkFailure[] = [];
    events.forEach((e, i) => {
      if (this.recent.has(e.id) || seen.has(e.id)) return;
      let key: string;
      try {
        key = partitionOf(e, this.cfg.partitioning);
      } catch (err) {
        failures.push({ index: i, retryable: false, error: toError(err) });
        return;
      }
      seen.add(e.id);
      const g = groups.get(key);
      if (g) g.push(i);
      else groups.set(key, [i]);
    });
    await Promise.all(
      [...groups].map(async ([partition, idx]) => {
        const ids = idx.map((i) => events[i]!.id);
        const key = `${this.cfg.prefix}${partition}${objectName(ids)}`;
        try {
          await this.put(
            key,
            idx.map((i) => events[i]!),
          );
          this.remember(ids);
        } catch (e) {
          const err = new DeliveryError(`s3://${this.cfg.bucket}/${key}: ${describeS3Error(e)}`, {
            sink: this.name,
            retryable: true,
            cause: e,
          });
          for (const i of idx) failures.push({ index: i, retryable: true, error: err });
        }
      }),
    );
    // Repeats of a failed event inside the same write fail with it.
    if (failures.length > 0) {
      const failedIds = new Map(failures.map((f) => [events[f.index]!.id, f]));
      const reported = new Set(failures.map((f) => f.index));
      events.forEach((e, i) => {
        const f = failedIds.get(e.id);
        if (f && !reported.has(i)) failures.push({ index: i, retryable: f.retryable, error: f.error });
      });
    }
    return failures.sort((a, b) => a.index - b.index);
  }

  private async put(key: string, events: LogEvent[]): Promise<void> {
    let text = '';
    for (const e of events) text += `${serializedDoc(e)}\n`;
    const body = await gzipAsync(text);
    const upload = new Upload({
      client: this.client,
      partSize: this.cfg.part_size,
      queueSize: 2,
      leavePartsOnError: false,
      params: {
        Bucket: this.cfg.bucket,
        Key: key,
        Body: body,
        // No Content-Encoding: downloaders would then unpack it and break the `.gz` promise.
        ContentType: 'application/gzip',
        Metadata: { 'logferry-events': String(events.length) },
        ...(this.cfg.storage_class ? { StorageClass: this.cfg.storage_class } : {}),
        ...(this.cfg.kms_key_id ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.cfg.kms_key_id } : {}),
      },
    });
    await upload.done();
  }

  private remember(ids: readonly string[]): void {
    if (this.cfg.remember_ids === 0) return;
    for (const id of ids) this.recent.add(id);
    if (this.recent.size <= this.cfg.remember_ids) return;
    let drop = this.recent.size - Math.floor(this.cfg.remember_ids / 2);
    for (const id of this.recent) {
      if (drop-- <= 0) break;
      this.recent.delete(id);
    }
  }

  async close(): Promise<void> {
    await this.inflight.drain();
  }
}

function describeS3Error(e: unknown): string {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  return `${err.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}`;
}

export function create(cfg: S3ArchiveSinkConfig): Sink {
  return new S3ArchiveSink(cfg, new S3Client(awsClientConfig(cfg.aws)));
}
