import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATASET, describeSinkConformance } from '../../../test/sink-conformance.js';
import type { Sink } from '../../core/component.js';
import { DailyFilesSink } from './index.js';
import { dailyFilesSinkSchema } from './schema.js';

describeSinkConformance(
  'daily_files',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logferry-conf-daily-'));
    const inner = new DailyFilesSink(
      dailyFilesSinkSchema.parse({ name: 'daily', type: 'daily_files', path: dir }),
    );
    // A real filesystem fault: a plain file where the dataset's folder must go. It is taken away
    // after the given number of writes, as an operator would fix a full or broken disk.
    let blocked: { path: string; writesLeft: number } | undefined;
    const sink: Sink = {
      name: inner.name,
      async write(events) {
        const out = await inner.write(events);
        if (blocked && --blocked.writesLeft <= 0) {
          await rm(blocked.path, { force: true });
          blocked = undefined;
        }
        return out;
      },
      close: () => inner.close(),
    };
    return {
      sink,
      async readBack() {
        const ids: string[] = [];
        for (const d of (await readdir(dir)).sort()) {
          const files = await readdir(join(dir, d)).catch(() => [] as string[]);
          for (const f of files.sort()) {
            const text = await readFile(join(dir, d, f), 'utf8');
            for (const line of text.split('\n').filter(Boolean))
              ids.push((JSON.parse(line) as { event: { id: string } }).event.id);
          }
        }
        return ids;
      },
      async failNext(times, dataset = DATASET) {
        const path = join(dir, dataset);
        await mkdir(dir, { recursive: true });
        await writeFile(path, 'not a folder');
        blocked = { path, writesLeft: times };
      },
      async close() {
        await inner.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { perEventFailures: true, idempotent: true },
);
