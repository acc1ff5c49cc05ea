import { appendFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { completeLines, dailyFileIds } from './daily-files.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('reading daily files while the sink appends', () => {
  it('leaves out a last line that has no newline yet', () => {
    expect(completeLines('{"a":1}\n{"a":2}\n{"a":')).toEqual(['{"a":1}', '{"a":2}']);
    expect(completeLines('{"a":')).toEqual([]);
    expect(completeLines('')).toEqual([]);
  });

  it('reads the ids of the finished lines of a file caught mid-append', async () => {
    dir = await mkdtemp(join(tmpdir(), 'lf-daily-'));
    await mkdir(join(dir, 'aws.cloudtrail'));
    const file = join(dir, 'aws.cloudtrail', 'aws.cloudtrail-2026-11-25.jsonl');
    await appendFile(file, '{"event":{"id":"a1"}}\n{"event":{"id":"b2"}}\n{"event":{"id":"c');
    expect(await dailyFileIds(dir)).toEqual(['a1', 'b2']);
    await appendFile(file, '3"}}\n');
    expect(await dailyFileIds(dir)).toEqual(['a1', 'b2', 'c3']);
  });

  it('finds nothing in a folder that does not exist yet', async () => {
    expect(await dailyFileIds(join(tmpdir(), 'lf-daily-missing-folder'))).toEqual([]);
  });
});
