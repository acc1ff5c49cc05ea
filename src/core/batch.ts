import type { Readable } from 'node:stream';
import type { Origin } from './event.js';

/** The raw payload of one item: bytes in memory, a stream to open (S3 objects, files), or a decoded object. */
export type ItemBody =
  | { kind: 'bytes'; bytes: Buffer }
  /** Base64 text as AWS events carry it; decoded (and checked) when the parser reads it. */
  | { kind: 'base64'; text: string }
  | {
      kind: 'stream';
      open: () => Promise<Readable>;
      size?: number;
      /** The regular file `open` reads (an inbox file), so a decode worker can open it itself. */
      file?: string;
    }
  | {
      kind: 'object';
      value: unknown;
      /**
       * The JSON text `value` was parsed from, as the peer wrote it, on one line (a Duo event's
       * own bytes in its page). A parser may keep it instead of serializing `value` again.
       */
      text?: string;
    };

export interface RawItem {
  /** What the runtime acknowledges: a Kinesis sequence number, an SQS message id, a file path. */
  ackId: string;
  origin: Origin;
  body: ItemBody;
  /** Parser to use for this item; falls back to the source's configured parser. */
  parser?: string;
}

export interface Batch {
  source: string;
  items: RawItem[];
  /**
   * Who delivers it and commits it afterwards (a runner unit's id). A sink that guards against
   * replays keeps what a writer wrote until the writer says it is committed (`Sink.committed`),
   * since until then a crash replays it from the last commit. Unset: no commit follows to wait for.
   */
  writer?: string;
}

/**
 * - `delivered`: every event reached every sink (or was dead-lettered by a sink as permanent).
 * - `dead-lettered`: the item itself could not be parsed; it is in the dead-letter store.
 * - `failed`: retry it later (delivery failed retryably, or the deadline came first).
 */
export type ItemStatus = 'delivered' | 'dead-lettered' | 'failed';

export interface ItemResult {
  ackId: string;
  status: ItemStatus;
  events: number;
  /** Parts of the item (lines, wrapped records) set aside in the dead-letter store. */
  rejected?: number;
  error?: string;
}

export interface BatchResult {
  items: ItemResult[];
  events: number;
  /** True when the deadline stopped work before every item was tried. */
  cutShort: boolean;
  /** Index of the first item left untried because the event cap was reached (see core/uncommitted.ts). */
  deferredFrom?: number;
}

export function isAcked(r: ItemResult): boolean {
  return r.status !== 'failed';
}
