import { createHash } from 'node:crypto';
import { SourceError } from '../../core/errors.js';
import type { DuoLogName } from './schema.js';

/** How each Duo log is asked for and read. */
export interface DuoLogSpec {
  name: DuoLogName;
  path: string;
  dataset: string;
  parser: string;
  /** v2 logs take a millisecond window and page by next_offset; v1 takes mintime in seconds. */
  v2: boolean;
  /** Where the events are in a response (`[]`: the response is the list). */
  list: readonly string[];
  /** The events and the paging cursor of one response. */
  read(response: unknown): { events: unknown[]; nextOffset?: string };
  /** Milliseconds, or undefined when the event has no usable timestamp. */
  time(event: unknown): number | undefined;
  /** What identifies the event within its timestamp. */
  id(event: unknown): string;
}

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function shapeError(log: string, what: string): SourceError {
  return new SourceError(`Duo ${log} log: unexpected response (${what})`, { retryable: true });
}

/** ISO time first (it has sub-second precision), else Unix seconds. */
function isoOrSeconds(iso: unknown, seconds: unknown): number | undefined {
  if (typeof iso === 'string') {
    const t = Date.parse(iso);
    if (Number.isFinite(t)) return t;
  }
  if (typeof seconds === 'number' && Number.isFinite(seconds)) return seconds * 1000;
  return undefined;
}

/** Content hash for logs without ids (administrator v1); key order does not matter. */
export function contentId(event: unknown): string {
  const stable = (v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, stable((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(stable)
        : v;
  return createHash('sha256')
    .update(JSON.stringify(stable(event)))
    .digest('base64url')
    .slice(0, 22);
}

export const LOGS: Record<DuoLogName, DuoLogSpec> = {
  authentication: {
    name: 'authentication',
    path: '/admin/v2/logs/authentication',
    dataset: 'duo.authentication',
    parser: 'duo_auth',
    v2: true,
    list: ['authlogs'],
    read(response) {
      const r = obj(response);
      if (!Array.isArray(r.authlogs)) throw shapeError('authentication', 'no authlogs list');
      const off = obj(r.metadata).next_offset;
      const nextOffset = Array.isArray(off) && off.length === 2 ? off.join(',') : undefined;
      return { events: r.authlogs, nextOffset };
    },
    time: (e) => isoOrSeconds(obj(e).isotimestamp, obj(e).timestamp),
    id: (e) => {
      const t = obj(e).txid;
      return typeof t === 'string' && t ? t : contentId(e);
    },
  },
  administrator: {
    name: 'administrator',
    path: '/admin/v1/logs/administrator',
    dataset: 'duo.administrator',
    parser: 'duo_admin',
    v2: false,
    list: [],
    read(response) {
      if (!Array.isArray(response)) throw shapeError('administrator', 'response is not a list');
      return { events: response };
    },
    // Whole seconds: v1 pages by seconds, and isotimestamp carries no more precision.
    time: (e) => {
      const s = obj(e).timestamp;
      return typeof s === 'number' && Number.isFinite(s)
        ? s * 1000
        : isoOrSeconds(obj(e).isotimestamp, undefined);
    },
    id: contentId,
  },
  telephony: {
    name: 'telephony',
    path: '/admin/v2/logs/telephony',
    dataset: 'duo.telephony',
    parser: 'duo_telephony',
    v2: true,
    list: ['items'],
    read(response) {
      const r = obj(response);
      if (!Array.isArray(r.items)) throw shapeError('telephony', 'no items list');
      const off = obj(r.metadata).next_offset;
      const nextOffset =
        typeof off === 'string' && off ? off : Array.isArray(off) && off.length ? off.join(',') : undefined;
      return { events: r.items, nextOffset };
    },
    time: (e) => isoOrSeconds(obj(e).ts, obj(e).timestamp),
    id: (e) => {
      const o = obj(e);
      const t = o.telephony_id ?? o.txid;
      return typeof t === 'string' && t ? t : contentId(e);
    },
  },
};
