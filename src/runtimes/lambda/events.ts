import type { z } from 'zod';
import { DeliveryError, ParseError } from '../../core/errors.js';
import type { Origin } from '../../core/event.js';

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * Validates a trigger's event. An event of the wrong shape throws: with nothing identifiable in
 * it there is no record to report failed on its own. `origin` names the invocation in the error,
 * for handlers that dead-letter the whole event.
 */
export function parseEvent<T>(schema: z.ZodType<T>, event: unknown, what: string, origin?: Origin): T {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new ParseError(`not ${what}: ${issue.path.join('.')} ${issue.message}`, {
    cause: parsed.error,
    ...(origin ? { origin } : {}),
  });
}

/**
 * The partial-batch answer (ReportBatchItemFailures). When every one of `total` failed it throws
 * instead, so a function deployed without ReportBatchItemFailures retries rather than taking the
 * batch as a success.
 */
export function batchResponse(
  failedIds: string[],
  total: number,
  noun: string,
  firstError?: string,
): BatchResponse {
  if (total > 0 && failedIds.length === total) {
    throw new DeliveryError(`all ${total} ${noun} failed: ${firstError ?? 'unknown'}`, {
      sink: 'pipeline',
      retryable: true,
    });
  }
  return { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
}
