import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDeadLetterStore } from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-dlq-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file dead-letter store', () => {
  it('keeps entries oldest first and removes by id', async () => {
    const s = new FileDeadLetterStore(dir);
    const origin = { source: 's', type: 'kinesis', ref: 'stream/shard/1' };
    const a = await s.put({
      kind: 'item',
      source: 's',
      origin,
      error: 'parse: bad',
      retryable: false,
      attempts: 1,
      data: 'AAA=',
    });
    const b = await s.put({
      kind: 'item',
      source: 's',
      origin,
      error: 'parse: worse',
      retryable: false,
      attempts: 1,
    });
    const listed = [];
    for await (const e of s.list()) listed.push(e);
    expect(listed.map((e) => e.id)).toEqual([a, b]);
    expect(listed[0]).toMatchObject({ error: 'parse: bad', data: 'AAA=', origin });
    await s.remove(a);
    const after = [];
    for await (const e of s.list()) after.push(e.id);
    expect(after).toEqual([b]);
    await expect(s.remove('../../etc/passwd')).rejects.toThrow('not a dead-letter id');
  });
});
