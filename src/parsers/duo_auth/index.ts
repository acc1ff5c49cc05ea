import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import type { EventDraft } from '../../core/event.js';
import {
  compact,
  duoDocument,
  duoTexts,
  duoTime,
  geo,
  type Json,
  obj,
  parseDuoEvent,
  str,
} from '../../formats/duo_common.js';

const FAILED = new Set(['denied', 'failure', 'fraud', 'error']);

/** Duo authentication log v2 → ECS (`duo.authentication`); the original event is kept under `duo`. */
export class DuoAuthParser implements Parser {
  readonly name = 'duo_auth';

  parse(item: RawItem, ctx: ParseContext): Iterable<EventDraft> | AsyncIterable<EventDraft> {
    return parseDuoEvent(item, ctx, 'authentication', (e) => this.draft(item, e));
  }

  /** The event's draft, or why it is set aside. */
  private draft(item: RawItem, e: Json): EventDraft | string {
    // Serialized now: the document below shares (and transforms may change) the same object.
    const { original, json, stringified } = duoTexts(item, e);
    const timestamp = duoTime(e.isotimestamp, e.timestamp);
    if (timestamp === undefined) {
      return 'has no timestamp (isotimestamp/timestamp)';
    }
    const access = obj(e.access_device);
    const user = obj(e.user);
    const app = obj(e.application);
    const result = str(e.result);
    const name = str(user.name);
    const ip = str(access.ip);
    // The original stays as Duo sent it (nulls and empty lists included); only ECS is compacted.
    const { doc, toJson } = duoDocument(
      compact({
        event: {
          kind: 'event',
          category: ['authentication'],
          type: [e.event_type === 'enrollment' ? 'creation' : 'info'],
          action: str(e.event_type) ?? 'authentication',
          outcome: result === 'success' ? 'success' : result && FAILED.has(result) ? 'failure' : 'unknown',
          reason: str(e.reason),
          provider: 'duo',
        },
        user: { name, id: str(user.key), email: str(e.email) },
        source: { ip, geo: geo(access.location) },
        user_agent: {
          name: str(access.browser),
          version: str(access.browser_version),
          os: { name: str(access.os), version: str(access.os_version) },
        },
        host: { hostname: str(access.hostname) },
        service: { name: str(app.name), id: str(app.key) },
        related: { user: name ? [name] : undefined, ip: ip ? [ip] : undefined },
      }),
      e,
      json,
    );
    const txid = str(e.txid);
    return {
      dataset: 'duo.authentication',
      timestamp,
      doc,
      idParts: txid ? ['txid', txid] : ['content', stringified ?? JSON.stringify(e)],
      original,
      toJson,
    };
  }
}

export function create(): Parser {
  return new DuoAuthParser();
}
