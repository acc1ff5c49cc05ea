import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { conformanceEvents } from '../../../test/sink-conformance.js';
import { finalizeEvent } from '../../core/pipeline.js';
import { LocalStoreSink, openStoreInstance, storeBackend } from './index.js';
import { localStoreSinkSchema } from './schema.js';

let dir: string;
const sinks: LocalStoreSink[] = [];
const store = (extra: Record<string, unknown> = {}) => {
  const s = new LocalStoreSink(
    localStoreSinkSchema.parse({
      name: 'store',
      type: 'local_store',
      path: join(dir, 'db', 'events.duckdb'),
      ...extra,
    }),
  );
  sinks.push(s);
  return s;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-store-'));
});
afterEach(async () => {
  for (const s of sinks.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function count(s: LocalStoreSink): Promise<number> {
  const b = await s.searchBackend();
  return Number((await b.sql('SELECT count(*) AS n FROM events')).rows[0]!.n);
}

describe('local_store', () => {
  it('keeps one copy of an event written again after a restart', async () => {
    const first = store();
    expect(await first.write(conformanceEvents(30))).toEqual([]);
    await first.close();
    const second = store();
    expect(await second.write(conformanceEvents(40))).toEqual([]);
    expect(await count(second)).toBe(40);
  });

  it('deletes days past retention that also arrived before the cutoff', async () => {
    const s = store({ retention_days: 7 });
    const old = finalizeEvent(
      { dataset: 'app', timestamp: Date.parse('2026-10-01T00:00:00Z'), doc: {}, idParts: ['old'] },
      { source: 't', type: 't', ref: 'old' },
    );
    expect(await s.write([old, ...conformanceEvents(3)])).toEqual([]);
    // Arrived today: a backfill of old days stays until it has been quiet for the retention.
    expect(await s.applyRetention(new Date().toISOString().slice(0, 10))).toBe(0);
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    expect(await s.applyRetention(later)).toBe(4);
    expect(await count(s)).toBe(0);
  });

  it('opens read-only beside no writer, and refuses to write through it', async () => {
    const s = store();
    await s.write(conformanceEvents(5));
    await s.close();
    const ro = await openStoreInstance(join(dir, 'db', 'events.duckdb'), 'read');
    const b = storeBackend(ro, () => ro.closeSync());
    try {
      expect((await b.search({ query: 'labels.n:3' })).total).toBe(1);
      await expect(b.sql('INSERT INTO events SELECT * FROM events')).rejects.toThrow(/only SELECT/);
    } finally {
      await b.close();
    }
  });

  it('names the file when it cannot be opened', async () => {
    await writeFile(join(dir, 'plain'), 'a file where the folder should be');
    const s = store({ path: join(dir, 'plain', 'events.duckdb') });
    const [f] = await s.write(conformanceEvents(1));
    expect(f?.retryable).toBe(true);
    expect(f?.error.message).toContain(join(dir, 'plain', 'events.duckdb'));
  });
});
