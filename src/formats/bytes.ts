import { Readable } from 'node:stream';
import type { RawItem } from '../core/batch.js';
import { LimitError, ParseError } from '../core/errors.js';
import { decodeBase64, type Limits } from '../core/limits.js';

/** The whole body of an item as bytes, refusing bodies over the inflated-size cap. */
export async function bodyBytes(item: RawItem, limits: Limits): Promise<Buffer> {
  const body = item.body;
  if (body.kind === 'bytes') return body.bytes;
  if (body.kind === 'base64') return decodeBase64(body.text, 'record data');
  if (body.kind === 'object') {
    if (typeof body.value === 'string') return Buffer.from(body.value);
    throw new ParseError('item holds an object where bytes were expected');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = await body.open();
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limits.max_inflated_bytes) {
      stream.destroy();
      throw new LimitError(
        `item is larger than the ${limits.max_inflated_bytes}-byte limit for whole-document formats`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The body of an item as a stream, whatever form it arrived in (files and S3 objects stay streams). */
export async function openBody(item: RawItem): Promise<Readable> {
  const b = item.body;
  if (b.kind === 'stream') return b.open();
  if (b.kind === 'bytes') return Readable.from([b.bytes]);
  if (b.kind === 'base64') return Readable.from([decodeBase64(b.text, 'record data')]);
  return Readable.from([Buffer.from(typeof b.value === 'string' ? b.value : JSON.stringify(b.value))]);
}
