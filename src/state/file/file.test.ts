import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateError } from '../../core/errors.js';
import { create, FileStateStore } from './index.js';
import { fileStateSchema } from './schema.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file checkpoint store', () => {
  it('round-trips values and leaves no temporary files', async () => {
    const s = new FileStateStore(dir);
    expect(await s.get('kinesis/stream/shardId-000000000001')).toBeUndefined();
    await s.put('kinesis/stream/shardId-000000000001', { sequence: '495', finished: false });
    await s.put('kinesis/stream/shardId-000000000001', { sequence: '496' });
    expect(await s.get('kinesis/stream/shardId-000000000001')).toEqual({ sequence: '496' });
    expect(await readdir(dir)).toEqual([`${encodeURIComponent('kinesis/stream/shardId-000000000001')}.json`]);
    await s.delete('kinesis/stream/shardId-000000000001');
    expect(await s.get('kinesis/stream/shardId-000000000001')).toBeUndefined();
  });

  it('removes temporary files a killed process left, but not one being written now', async () => {
    const key = encodeURIComponent('kinesis/stream/shardId-000000000001');
    const left = join(dir, `${key}.json.0a1b2c3d4e5f.tmp`);
    const fresh = join(dir, `${key}.json.ffffffffffff.tmp`);
    await writeFile(left, '{"sequence":');
    await writeFile(fresh, '{"sequence":');
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(left, old, old);
    await new FileStateStore(dir).put('kinesis/stream/shardId-000000000001', { sequence: '1' });
    expect((await readdir(dir)).sort()).toEqual([`${key}.json`, `${key}.json.ffffffffffff.tmp`]);
  });

  it('refuses to start from a corrupt checkpoint instead of starting over', async () => {
    const s = new FileStateStore(dir);
    await writeFile(join(dir, 'duo%2Fauth.json'), '{"mintime": 1700000');
    const err = await s.get('duo/auth').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StateError);
    expect((err as StateError).message).toMatch(
      /checkpoint .*duo%2Fauth\.json is corrupt .*refusing to start/,
    );
  });

  it('creates checkpoints 0600 in a folder 0700, or as `mode` says', async () => {
    const root = join(dir, 'state');
    await create(fileStateSchema.parse({ type: 'file', path: root })).put('duo/auth', { mintime: 1 });
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'duo%2Fauth.json'))).mode & 0o777).toBe(0o600);
    const shared = join(dir, 'shared');
    await create(fileStateSchema.parse({ type: 'file', path: shared, mode: '0644' })).put('k', 1);
    expect((await stat(shared)).mode & 0o777).toBe(0o755);
    expect((await stat(join(shared, 'k.json'))).mode & 0o777).toBe(0o644);
  });

  it('keeps every key a file inside its folder, . and .. included', async () => {
    const s = new FileStateStore(join(dir, 'state'));
    for (const k of ['.', '..', '../outside', '/etc/x']) await s.put(k, { k });
    expect(await readdir(dir)).toEqual(['state']);
    for (const k of ['.', '..', '../outside', '/etc/x']) expect(await s.get(k)).toEqual({ k });
  });
});
