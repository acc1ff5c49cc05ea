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

  it('stores messages and origins without credentials, and the payload as it came', async () => {
    const s = new FileDeadLetterStore(dir);
    const data = Buffer.from('{"url":"https://u:p@h"}').toString('base64');
    await s.put({
      kind: 'item',
      source: 's',
      origin: { source: 's', type: 'http', ref: 'https://u:hunter2@logs.example.com/in?token=tok3n' },
      error: 'deliver: GET https://admin:hunter2@search:9200 answered 401 (Authorization: Bearer eyJx)',
      retryable: false,
      attempts: 1,
      data,
    });
    const listed = [];
    for await (const e of s.list()) listed.push(e);
    const stored = listed[0];
    expect(JSON.stringify(stored)).not.toMatch(/hunter2|tok3n|eyJx/);
    expect(stored).toMatchObject({
      error: 'deliver: GET https://[redacted]@search:9200 answered 401 (Authorization: Bearer [redacted])',
      origin: { ref: 'https://[redacted]@logs.example.com/in?token=[redacted]' },
      data,
    });
  });
});
