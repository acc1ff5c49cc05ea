import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSinkConformance } from '../../../test/sink-conformance.js';
import type { Sink } from '../../core/component.js';
import { LocalStoreSink } from './index.js';
import { localStoreSinkSchema } from './schema.js';

describeSinkConformance(
  'local_store',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logferry-conf-store-'));
    const inner = new LocalStoreSink(
      localStoreSinkSchema.parse({ name: 'store', type: 'local_store', path: join(dir, 'events.duckdb') }),
    );
    // A real fault in the database: the table is renamed away for the given number of writes, as
    // a broken or locked-down store would refuse inserts, then put back.
    let blocked: number | undefined;
    const admin = async (sql: string) => {
      const c = await inner.connect();
      try {
        await c.run(sql);
      } finally {
        c.closeSync();
      }
    };
    const sink: Sink = {
      name: inner.name,
      async write(events) {
        const out = await inner.write(events);
        if (blocked !== undefined && --blocked <= 0) {
          blocked = undefined;
          await admin('ALTER TABLE events_away RENAME TO events');
        }
        return out;
      },
      close: () => inner.close(),
    };
    return {
      sink,
      // A table keeps no insertion order under INSERT OR IGNORE; the store is read in time order.
      async readBack() {
        const c = await inner.connect();
        try {
          const r = await c.runAndReadAll('SELECT id FROM events ORDER BY ts, rowid');
          return r.getRowObjectsJson().map((row) => String(row.id));
        } finally {
          c.closeSync();
        }
      },
      async failNext(times) {
        await inner.write([]);
        await admin('CREATE TABLE IF NOT EXISTS events (id VARCHAR)').catch(() => undefined);
        await admin('ALTER TABLE events RENAME TO events_away');
        blocked = times;
      },
      async close() {
        await inner.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { perEventFailures: false, idempotent: true },
);
