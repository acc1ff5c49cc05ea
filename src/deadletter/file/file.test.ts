import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { create, FileDeadLetterStore } from './index.js';
import { fileDeadLetterSchema } from './schema.js';

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

  it('creates dead letters 0600 in folders 0700 (they hold raw input), or as `mode` says', async () => {
    const entry = {
      kind: 'item' as const,
      source: 's',
      origin: { source: 's', type: 'file', ref: 'in/f line 3' },
      error: 'parse: bad',
      retryable: false,
      attempts: 1,
      data: Buffer.from('password=hunter2').toString('base64'),
    };
    const root = join(dir, 'private');
    const id = await create(fileDeadLetterSchema.parse({ type: 'file', path: root })).put(entry);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, id.slice(0, 10)))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, `${id}.json`))).mode & 0o777).toBe(0o600);
    const shared = join(dir, 'shared');
    const id2 = await create(fileDeadLetterSchema.parse({ type: 'file', path: shared, mode: '0640' })).put(
      entry,
    );
    expect((await stat(join(shared, id2.slice(0, 10)))).mode & 0o777).toBe(0o750);
    expect((await stat(join(shared, `${id2}.json`))).mode & 0o777).toBe(0o640);
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
