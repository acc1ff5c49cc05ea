import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import { compact, duoOriginal, duoTime, type Json, parseDuoEvent, str } from '../../formats/duo_common.js';
import { contentId } from '../../sources/duo/logs.js';

/** Duo administrator log v1 → ECS (`duo.administrator`); the original event is kept under `duo`. */
export class DuoAdminParser implements Parser {
  readonly name = 'duo_admin';

  parse(item: RawItem, ctx: ParseContext): Iterable<EventDraft> | AsyncIterable<EventDraft> {
    return parseDuoEvent(item, ctx, 'administrator', (e) => this.draft(item, e));
  }

  /** The event's draft, or why it is set aside. */
  private draft(item: RawItem, e: Json): EventDraft | string {
    // Serialized now: the document below shares (and transforms may change) the same object.
    const original = duoOriginal(item, e);
    const timestamp = duoTime(undefined, e.timestamp) ?? duoTime(e.isotimestamp, undefined);
    if (timestamp === undefined) {
      return 'has no timestamp (timestamp/isotimestamp)';
    }
    const action = str(e.action) ?? 'unknown';
    // `description` is JSON text for most actions, free text for a few.
    let details: Json | undefined;
    if (typeof e.description === 'string' && e.description.startsWith('{')) {
      try {
        details = JSON.parse(e.description) as Json;
      } catch {
        details = undefined;
      }
    }
    const login = action.startsWith('admin_login');
    const failed = /_(error|fail|failure|denied)$/.test(action);
    const admin = str(e.username);
    const ip = str(details?.ip_address);
    const object = str(e.object);
    // The original stays as Duo sent it (nulls and empty lists included); only ECS is compacted.
    const doc = {
      ...compact({
        event: {
          kind: 'event',
          category: login ? ['authentication'] : ['iam', 'configuration'],
          type: login
            ? ['start']
            : [/_(create|add)/.test(action) ? 'creation' : /_delete/.test(action) ? 'deletion' : 'change'],
          action,
          outcome: failed ? 'failure' : 'success',
          reason: failed ? str(details?.error) : undefined,
          provider: 'duo',
        },
        user: { name: admin, target: object && !login ? { name: object } : undefined },
        source: { ip },
        message: details ? undefined : str(e.description),
        related: { user: [admin, object].filter((x): x is string => !!x), ip: ip ? [ip] : undefined },
      }),
      duo: { ...e, ...(details ? { description_fields: details } : {}) },
    };
    return { dataset: 'duo.administrator', timestamp, doc, idParts: ['content', contentId(e)], original };
  }
}

export function create(): Parser {
  return new DuoAdminParser();
}
