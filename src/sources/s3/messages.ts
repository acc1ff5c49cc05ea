import type { S3Client } from '@aws-sdk/client-s3';
import type { RawItem } from '../../core/batch.js';
import { objectsFromBody } from './notifications.js';
import { objectItem } from './objects.js';
import type { S3SqsSourceConfig } from './schema.js';

/** What one SQS message asks for: its objects as items (none for test events and deletions). */
export interface MessageWork {
  id: string;
  items: RawItem[];
  /** Why the message announced nothing to read, for the logs. */
  note?: string;
}

/**
 * Turns SQS messages into pipeline items (one per announced object, ack id `messageId/n`). A
 * body that is not a notification becomes one item for the `s3_notification` parser, which
 * fails it with the reason: the pipeline then dead-letters the body like any bad input.
 */
export function messageWork(
  messages: readonly { id: string; body: string }[],
  cfg: Pick<S3SqsSourceConfig, 'name' | 'formats'>,
  s3: S3Client,
): MessageWork[] {
  return messages.map((m) => {
    try {
      const notice = objectsFromBody(m.body);
      const items = notice.objects.map((ref, i) =>
        objectItem(s3, cfg.name, ref, `${m.id}/${i}`, cfg.formats),
      );
      return { id: m.id, items, note: items.length ? undefined : notice.skipped.join('; ') || 'no objects' };
    } catch {
      const bad: RawItem = {
        ackId: `${m.id}/body`,
        origin: { source: cfg.name, type: 'sqs', ref: `SQS message ${m.id}`, attrs: { message_id: m.id } },
        body: { kind: 'bytes', bytes: Buffer.from(m.body) },
        parser: 's3_notification',
      };
      return { id: m.id, items: [bad] };
    }
  });
}
