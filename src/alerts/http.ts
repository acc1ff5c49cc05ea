import { DeliveryError } from '../core/errors.js';
import type { AlertFailure } from './types.js';

/**
 * POSTs a body and classifies the answer: 2xx delivered; 429, 408 and 5xx (and network errors)
 * retryable, honouring Retry-After; other 4xx permanent. Errors name the output, never the URL
 * (webhook URLs are secrets).
 */
export async function post(
  output: string,
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<Omit<AlertFailure, 'index'> | undefined> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (e) {
    const why =
      (e as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : `connection failed (${causeCode(e)})`;
    return {
      retryable: true,
      error: new DeliveryError(`${output}: ${why}`, { sink: output, retryable: true }),
    };
  }
  const text = (await bodyStart(res, MAX_BODY_READ)).slice(0, 200).replace(/\s+/g, ' ');
  if (res.ok) return undefined;
  const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
  const retryAfter = Number(res.headers.get('retry-after'));
  return {
    retryable,
    error: new DeliveryError(`${output}: HTTP ${res.status}${text ? ` ${text}` : ''}`, {
      sink: output,
      retryable,
    }),
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}

/** Only the start of an answer is ever shown, so only that much is read: a hostile endpoint cannot fill memory. */
const MAX_BODY_READ = 4096;

async function bodyStart(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } catch {
    // The body broke off: what arrived is enough to describe the answer.
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(parts).subarray(0, max).toString('utf8');
}

function causeCode(e: unknown): string {
  const c = (e as { cause?: { code?: string } }).cause;
  return c?.code ?? (e as Error).name;
}
