import { ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { safeNameComponent } from '../../core/names.js';

const TIME_FIELDS = ['@timestamp', 'timestamp', 'time', 'eventTime', 'ts', 'date'] as const;

/** Milliseconds from an ISO string or epoch seconds/milliseconds; undefined when it is neither. */
export function toMillis(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v.length >= 8) {
    if (/^\d+(\.\d+)?$/.test(v)) return toMillis(Number(v));
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return undefined;
}

export function timestampOf(doc: Record<string, unknown>): number | undefined {
  for (const f of TIME_FIELDS) {
    const t = toMillis(doc[f]);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** Ids logferry makes are 27 base64url characters; a trusted claim must look like one. */
const OWN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * A JSON object as an event. Untrusted (the default), the parser's dataset and a hash of where
 * the line came from identify it, and what the payload claimed as `event.dataset`/`event.id` is
 * moved to `logferry.claimed`, where no rule or sink takes it for the real thing but an analyst
 * still sees the attempt. Trusted (`trust_event_fields`, for logferry's own output read back in),
 * a document carrying both keeps them, so re-ingesting it makes no duplicate; a claim that is no
 * usable name or id is refused as a ParseError.
 */
export function jsonLineDraft(
  value: Record<string, unknown>,
  dataset: string,
  idParts: (string | number)[],
  trust = false,
): EventDraft {
  const event = isObject(value.event) ? value.event : undefined;
  const claimedDataset = event?.dataset;
  const claimedId = event?.id;
  const draft: EventDraft = { dataset, timestamp: timestampOf(value) ?? Date.now(), doc: value, idParts };
  if (claimedDataset === undefined && claimedId === undefined) return draft;
  if (!trust) {
    delete event!.dataset;
    delete event!.id;
    const logferry = isObject(value.logferry) ? value.logferry : {};
    // Always strings: a number here and an object there would fight over one index mapping.
    logferry.claimed = {
      ...(claimedDataset === undefined ? {} : { dataset: asText(claimedDataset) }),
      ...(claimedId === undefined ? {} : { id: asText(claimedId) }),
    };
    value.logferry = logferry;
    return draft;
  }
  if (typeof claimedDataset === 'string') draft.dataset = trustedDataset(claimedDataset);
  if (typeof claimedId === 'string' && typeof claimedDataset === 'string') {
    if (!OWN_ID.test(claimedId))
      throw new ParseError(`event.id ${quote(claimedId)} is not an event id (letters, digits, _ and -)`);
    draft.id = claimedId;
  }
  return draft;
}

function trustedDataset(claimed: string): string {
  let clean: string;
  try {
    clean = safeNameComponent(claimed, 'event.dataset');
  } catch (e) {
    throw new ParseError((e as Error).message, { cause: e });
  }
  if (clean !== claimed)
    throw new ParseError(`event.dataset ${quote(claimed)} is not a dataset name (letters, digits, . _ -)`);
  return claimed;
}

function asText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function quote(v: string): string {
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
}
