/**
 * Judges a `_bulk` answer per document, never by the HTTP status alone (a 200 can carry 429s
 * and mapping errors; Vector #25799). Pure, so it is tested on literal response bodies.
 */

export type ItemVerdict =
  | { kind: 'delivered' }
  /** Throttled (429) or the shard was unavailable (5xx): send it again later. */
  | { kind: 'retry'; reason: string }
  /** The cluster will never take this document as it is (mapping error, bad index name). */
  | { kind: 'reject'; reason: string };

export type BulkVerdict =
  | { kind: 'items'; items: ItemVerdict[] }
  /** The whole request failed in a way that can pass later (429, 5xx, auth, cluster unreachable). */
  | { kind: 'retry'; reason: string }
  /** 413: the body was over http.max_content_length; send it in smaller pieces. */
  | { kind: 'too_large' }
  /** The whole request was refused as malformed (400); sending it again cannot help. */
  | { kind: 'reject'; reason: string };

interface ItemBody {
  status?: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } | string;
}

export function classify(response: { status: number; body: unknown }, sent: number): BulkVerdict {
  const { status, body } = response;
  if (status === 413) return { kind: 'too_large' };
  if (status >= 200 && status < 300) return classifyItems(body, sent);
  const reason = `HTTP ${status}${topReason(body)}`;
  if (status === 400) return { kind: 'reject', reason };
  // 401/403/404 come from configuration (credentials, a proxy path, a missing permission): the
  // documents are fine and go through once that is fixed, so they are never dead-lettered.
  return { kind: 'retry', reason };
}

function classifyItems(body: unknown, sent: number): BulkVerdict {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length !== sent)
    return {
      kind: 'retry',
      reason: `bulk answer lists ${Array.isArray(items) ? items.length : 'no'} items for ${sent} documents`,
    };
  return { kind: 'items', items: items.map(classifyItem) };
}

export function classifyItem(entry: unknown): ItemVerdict {
  const op = entry && typeof entry === 'object' ? Object.keys(entry)[0] : undefined;
  const item = (op ? (entry as Record<string, ItemBody>)[op] : undefined) ?? {};
  const status = typeof item.status === 'number' ? item.status : 0;
  if (status >= 200 && status < 300 && !item.error) return { kind: 'delivered' };
  const type = typeof item.error === 'object' ? item.error?.type : undefined;
  // `create` of an id that exists: an earlier attempt got it there.
  if (status === 409 && op === 'create' && type === 'version_conflict_engine_exception')
    return { kind: 'delivered' };
  const reason = `${status} ${describeItemError(item.error)}`;
  if (status === 429 || status >= 500 || status === 0) return { kind: 'retry', reason };
  return { kind: 'reject', reason };
}

function describeItemError(error: ItemBody['error']): string {
  if (!error) return 'no error detail';
  if (typeof error === 'string') return error.slice(0, 300);
  const cause = error.caused_by ? ` (${error.caused_by.type}: ${error.caused_by.reason})` : '';
  return `${error.type ?? 'error'}: ${error.reason ?? ''}${cause}`.slice(0, 400);
}

function topReason(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as { error?: unknown; message?: unknown; Message?: unknown };
  if (b.error && typeof b.error === 'object') {
    const e = b.error as { type?: string; reason?: string };
    return ` ${e.type ?? 'error'}: ${(e.reason ?? '').slice(0, 200)}`;
  }
  const msg = b.error ?? b.message ?? b.Message;
  return typeof msg === 'string' ? ` ${msg.slice(0, 200)}` : '';
}
