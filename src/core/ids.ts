import * as crypto from 'node:crypto';

// One-shot hashing (Node ≥ 20.12) avoids a Hash object per event: ids are on the hot path.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64url') => string }).hash;

/**
 * A stable id from the parts that identify an event: 20 bytes of SHA-256 as base64url (27 chars),
 * short enough for an OpenSearch `_id` and a Kinesis partition key, long enough never to collide.
 * The unit separator keeps ["ab","c"] and ["a","bc"] apart.
 */
export function eventId(dataset: string, parts: readonly (string | number)[]): string {
  let input = dataset;
  for (const p of parts) input += `\x1f${p}`;
  if (oneShot) return oneShot('sha256', input, 'base64url').slice(0, 27);
  return crypto.createHash('sha256').update(input).digest().subarray(0, 20).toString('base64url');
}

export function contentHash(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest().subarray(0, 12).toString('base64url');
}
