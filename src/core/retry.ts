export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 200, maxMs: 10_000 };

/** Exponential backoff with full jitter (attempt 1 → up to base, doubling, capped). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = defaultBackoff,
  random = Math.random,
): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Back-off for a unit or source that failed: jittered exponential, plus a floor. */
export interface RetryPolicy extends BackoffOptions {
  floorMs: number;
}

/** The one policy for sources and units that failed a read or a delivery. */
export const sourceRetry: RetryPolicy = { baseMs: 1000, maxMs: 60_000, floorMs: 500 };

export function retryDelay(attempt: number, policy: RetryPolicy = sourceRetry, random = Math.random): number {
  return backoffDelay(attempt, policy, random) + policy.floorMs;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
