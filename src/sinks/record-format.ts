/**
 * What one record of a sink holds: `ecs`, the normalized document (the default), or `original`,
 * the source event exactly as it arrived (a Duo API event's JSON, as the Go Duo function wrote
 * it), for consumers that read the old shape.
 */
import { z } from 'zod';
import { DeliveryError } from '../core/errors.js';
import type { LogEvent } from '../core/event.js';

export const recordFormat = z.enum(['ecs', 'original']).default('ecs');
export type RecordFormat = z.infer<typeof recordFormat>;

/**
 * The bytes of one event's `original` record. An event whose parser keeps no original cannot be
 * written in this format: a permanent failure, so it goes to the dead-letter store.
 */
export function originalRecord(e: LogEvent, sink: string): Buffer | DeliveryError {
  if (e.original === undefined)
    return new DeliveryError(
      `event ${e.id} (${e.dataset}) has no original to write: its parser keeps none (the duo_* parsers do)`,
      { sink, retryable: false },
    );
  return Buffer.from(e.original, 'utf8');
}
