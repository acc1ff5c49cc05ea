import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import { bodyBytes } from '../../formats/bytes.js';
import { objectsFromBody } from '../../sources/s3/notifications.js';

/**
 * Reads an S3 notification body and yields nothing: the S3 sources give an unreadable queue
 * message to the pipeline under this parser so that it is dead-lettered (with its text and the
 * reason) like any other bad input, and the message can then be deleted.
 */
export class S3NotificationParser implements Parser {
  readonly name = 's3_notification';

  async *parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    objectsFromBody((await bodyBytes(item, ctx.limits)).toString('utf8'));
    // A readable notification is not an event source itself.
    yield* [];
  }
}

export function create(): Parser {
  return new S3NotificationParser();
}
