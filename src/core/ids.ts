import { createHash } from 'node:crypto';

/**
 * A stable id from the parts that identify an event: 20 bytes of SHA-256 as base64url (27 chars),
 * short enough for an OpenSearch `_id` and a Kinesis partition key, long enough never to collide.
 * The unit separator keeps ["ab","c"] and ["a","bc"] apart.
 */
export function eventId(dataset: string, parts: readonly (string | number)[]): string {
  const h = createHash('sha256');
  h.update(dataset);
  for (const p of parts) {
    h.update('\x1f');
    h.update(String(p));
  }
  return h.digest().subarray(0, 20).toString('base64url');
}

export function contentHash(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest().subarray(0, 12).toString('base64url');
}
