import type { Batch, RawItem } from '../../core/batch.js';
import { MAX_UNCOMMITTED_EVENTS } from '../../core/uncommitted.js';

/**
 * The most that may be delivered but not yet committed: a read is cut into slices no larger than
 * this, each committed before the next is delivered. A crash can then replay at most one slice,
 * which is what an idempotent sink's replay guard has to cover.
 */
export interface UncommittedBound {
  items: number;
  bytes: number;
  /** Events per slice (see core/uncommitted.ts): a slice that reaches it is committed and the rest delivered next. */
  events?: number;
}

export const defaultBound: UncommittedBound = { items: 100, bytes: 4 * 1024 * 1024 };

/** The event cap of a bound: never above the one the sinks' replay guards are derived from. */
export function eventCap(bound: UncommittedBound): number {
  return Math.min(bound.events ?? MAX_UNCOMMITTED_EVENTS, MAX_UNCOMMITTED_EVENTS);
}

/** Raw size of an item as far as it is known without reading it (streams count their declared size). */
export function itemBytes(item: RawItem): number {
  const b = item.body;
  if (b.kind === 'bytes') return b.bytes.length;
  if (b.kind === 'base64') return Math.floor((b.text.length * 3) / 4);
  if (b.kind === 'stream') return b.size ?? 0;
  return typeof b.value === 'string' ? b.value.length : 0;
}

/** Start indexes of consecutive slices of `batch`, each within the bound (an oversized item is a slice alone). */
export function sliceStarts(batch: Batch, bound: UncommittedBound): number[] {
  const starts: number[] = [];
  let items = 0;
  let bytes = 0;
  batch.items.forEach((item, i) => {
    const size = itemBytes(item);
    if (i === 0 || items >= bound.items || bytes + size > bound.bytes) {
      starts.push(i);
      items = 0;
      bytes = 0;
    }
    items++;
    bytes += size;
  });
  return starts;
}
