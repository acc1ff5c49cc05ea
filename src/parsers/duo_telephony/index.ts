import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import {
  compact,
  duoDocument,
  duoTexts,
  duoTime,
  type Json,
  parseDuoEvent,
  str,
} from '../../formats/duo_common.js';

/** Duo telephony log v2 → ECS (`duo.telephony`); type, credits and phone stay under `duo`. */
export class DuoTelephonyParser implements Parser {
  readonly name = 'duo_telephony';

  parse(item: RawItem, ctx: ParseContext): Iterable<EventDraft> | AsyncIterable<EventDraft> {
    return parseDuoEvent(item, ctx, 'telephony', (e) => this.draft(item, e));
  }

  /** The event's draft, or why it is set aside. */
  private draft(item: RawItem, e: Json): EventDraft | string {
    // Serialized now: the document below shares (and transforms may change) the same object.
    const { original, json, stringified } = duoTexts(item, e);
    const timestamp = duoTime(e.ts, e.timestamp);
    if (timestamp === undefined) {
      return 'has no timestamp (ts/timestamp)';
    }
    const type = str(e.type);
    // The original stays as Duo sent it (nulls and empty lists included); only ECS is compacted.
    const { doc, toJson } = duoDocument(
      compact({
        event: {
          kind: 'event',
          category: ['network'],
          type: ['info'],
          action: type ? `telephony-${type}` : 'telephony',
          reason: str(e.context),
          provider: 'duo',
        },
      }),
      e,
      json,
    );
    const id = str(e.telephony_id) ?? str(e.txid);
    return {
      dataset: 'duo.telephony',
      timestamp,
      doc,
      idParts: id ? ['id', id] : ['content', stringified ?? JSON.stringify(e)],
      original,
      toJson,
    };
  }
}

export function create(): Parser {
  return new DuoTelephonyParser();
}
