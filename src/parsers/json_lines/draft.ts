import type { EventDraft } from '../../core/event.js';

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

/**
 * A JSON object as an event. A document that already carries `event.dataset` and `event.id`
 * (logferry's own output fed back in) keeps both, so re-ingesting it makes no duplicate.
 */
export function jsonLineDraft(
  value: Record<string, unknown>,
  dataset: string,
  idParts: (string | number)[],
): EventDraft {
  const event = value.event as Record<string, unknown> | undefined;
  const ownDataset = typeof event?.dataset === 'string' ? event.dataset : undefined;
  const ownId = typeof event?.id === 'string' ? event.id : undefined;
  return {
    dataset: ownDataset ?? dataset,
    timestamp: timestampOf(value) ?? Date.now(),
    doc: value,
    idParts,
    ...(ownId && ownDataset ? { id: ownId } : {}),
  };
}
