import type { StateStore } from '../../core/component.js';
import { StateError } from '../../core/errors.js';

/**
 * Where one Duo log stands: the newest timestamp delivered, the ids already delivered at exactly
 * that timestamp, and (for v2 logs) Duo's next_offset when a page was cut by the limit. On
 * resume the log is read again from `ts` and the ids in `seen` are skipped, so events sharing a
 * millisecond (or, for the administrator log, a second) across pages or restarts are delivered
 * once: never lost by starting after `ts`, never repeated by starting at it.
 */
export interface DuoCheckpoint {
  v: 1;
  /** Milliseconds since the epoch. */
  ts: number;
  seen: string[];
  /** Duo's paging cursor after the last delivered event, when the window was not finished. */
  next_offset?: string;
  /**
   * Imported from a collector that counted instead of keeping ids (duo_watcher): the first
   * `count` events before `before` (ms) were delivered by it and are passed over, in Duo's order.
   */
  skip?: { before: number; count: number };
  updated?: string;
}

export function checkpointKey(source: string, log: string): string {
  return `duo/${source}/${log}`;
}

/** Reads and checks a checkpoint; anything malformed is a StateError (a person must look). */
export async function loadCheckpoint(state: StateStore, key: string): Promise<DuoCheckpoint | undefined> {
  const raw = await state.get<unknown>(key);
  if (raw === undefined) return undefined;
  const cp = raw as Partial<DuoCheckpoint>;
  const ok =
    cp !== null &&
    typeof cp === 'object' &&
    cp.v === 1 &&
    typeof cp.ts === 'number' &&
    Number.isFinite(cp.ts) &&
    Array.isArray(cp.seen) &&
    cp.seen.every((s) => typeof s === 'string') &&
    (cp.next_offset === undefined || typeof cp.next_offset === 'string') &&
    (cp.skip === undefined ||
      (Number.isSafeInteger(cp.skip?.before) && Number.isSafeInteger(cp.skip?.count) && cp.skip.count >= 0));
  if (!ok)
    throw new StateError(
      `checkpoint ${key} does not look like a Duo checkpoint; refusing to start. Fix or remove it to continue`,
    );
  return cp as DuoCheckpoint;
}

/** The cursor of one log while a poll runs; `advance` is called for each delivered event in order. */
export class Cursor {
  ts: number;
  private seen: Set<string>;
  nextOffset: string | undefined;
  private skip: { before: number; count: number } | undefined;

  constructor(cp: DuoCheckpoint) {
    this.ts = cp.ts;
    this.seen = new Set(cp.seen);
    this.nextOffset = cp.next_offset;
    this.skip = cp.skip && cp.skip.count > 0 ? { ...cp.skip } : undefined;
  }

  /**
   * Whether this event is one the previous collector delivered (see `skip`). It is then taken
   * as delivered, so a later resume at its millisecond skips it by id.
   */
  deliveredBefore(ts: number, id: string): boolean {
    if (!this.skip || ts >= this.skip.before) return false;
    if (--this.skip.count <= 0) this.skip = undefined;
    this.advance(ts, id);
    return true;
  }

  /** Whether this event was delivered before (same timestamp as the checkpoint, id seen). */
  delivered(ts: number, id: string): boolean {
    return ts <= this.ts && this.seen.has(id);
  }

  advance(ts: number, id: string): void {
    if (ts > this.ts) {
      this.ts = ts;
      this.seen = new Set([id]);
    } else this.seen.add(id);
  }

  toCheckpoint(): DuoCheckpoint {
    return {
      v: 1,
      ts: this.ts,
      seen: [...this.seen],
      ...(this.nextOffset ? { next_offset: this.nextOffset } : {}),
      ...(this.skip ? { skip: { ...this.skip } } : {}),
      updated: new Date().toISOString(),
    };
  }
}
