import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sink } from '../../core/component.js';
import { StateError } from '../../core/errors.js';
import { runBatch } from '../../core/pipeline.js';
import { makeEvents } from '../../demo/duo-events.js';
import { FakeDuo, type StoredEvent } from '../../demo/duo-fake.js';
import { memoryLogger } from '../../platform/log.js';
import { parsers } from '../../registry.js';
import { DailyFilesSink } from '../../sinks/daily_files/index.js';
import { dailyFilesSinkSchema } from '../../sinks/daily_files/schema.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { checkpointKey } from './checkpoint.js';
import { createDuoClient, DuoSource, type PollContext } from './index.js';
import { duoSourceSchema } from './schema.js';

let dir: string;
let fake: FakeDuo;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-dw-'));
  fake = new FakeDuo();
});
afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

async function duoSource(resumeFrom: unknown) {
  const cfg = duoSourceSchema.parse({
    type: 'duo',
    name: 'duo',
    host: fake.host,
    ikey: fake.ikey,
    skey: fake.skey,
    endpoint: await fake.listen(),
    lookback: '1d',
    resume_from: resumeFrom,
  });
  return new DuoSource(cfg, await createDuoClient(cfg));
}

async function pollContext(sink: Sink, state = new MemoryStateStore()): Promise<PollContext> {
  const duoAuth = (await parsers.duo_auth!()).create({});
  const pipeline = testPipeline({ parser: duoAuth, sinks: [sink] }, { parser: async () => duoAuth });
  return { state, log: memoryLogger(), process: (b) => runBatch(b, pipeline) };
}

/** A whole second two hours ago, at :30 so a few seconds either side stay in the same UTC day. */
function stateSecond(): number {
  const s = Math.floor(Date.now() / 1000) - 7200;
  return s - (s % 60) + 30;
}

const yymmdd = (sec: number) => new Date(sec * 1000).toISOString().slice(2, 10).replaceAll('-', '');

/** duo_watcher's auth log: one JSON row per line in auth/%y%m%d, and auth/state. */
async function writeDuoWatcherLog(rows: StoredEvent[], state: unknown): Promise<string> {
  await mkdir(join(dir, 'auth'), { recursive: true });
  const day = join(dir, 'auth', yymmdd(Math.floor(rows[0]!.ts / 1000)));
  for (const r of rows) await appendFile(day, `${JSON.stringify(r.body)}\n`);
  await writeFile(join(dir, 'auth', 'state'), `${JSON.stringify(state)}\n`);
  return day;
}

describe('resuming where duo_watcher stopped', () => {
  it('skips exactly the events duo_watcher counted at its last second, into its own day file', async () => {
    const T = stateSecond();
    const before = makeEvents('authentication', 3, (T - 10) * 1000, 2000);
    const atT = makeEvents('authentication', 5, T * 1000, 150, 3);
    const after = makeEvents('authentication', 3, (T + 2) * 1000, 1000, 8);
    fake.add('authentication', [...before, ...atT, ...after]);
    // duo_watcher wrote everything before T and the first two events of second T.
    const dayFile = await writeDuoWatcherLog([...before, ...atT.slice(0, 2)], { timestamp: T, count: 2 });

    const source = await duoSource({ duo_watcher: dir });
    const sink = new DailyFilesSink(
      dailyFilesSinkSchema.parse({
        type: 'daily_files',
        name: 'files',
        path: dir,
        file_name: '%y%m%d',
        directories: { 'duo.authentication': 'auth' },
      }),
    );
    const state = new MemoryStateStore();
    const r = await source.pollLog('authentication', await pollContext(sink, state));
    await sink.close();
    expect(r).toMatchObject({ events: 6, caughtUp: true });

    const lines = (await readFile(dayFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { txid?: string; duo?: { txid: string } });
    const txids = lines.map((l) => l.txid ?? l.duo?.txid);
    expect(txids).toEqual([...before, ...atT, ...after].map((e) => e.id));
    // Our own checkpoint now rules; the import is not read again.
    const cp = (await state.get(checkpointKey('duo', 'authentication'))) as { ts: number; skip?: unknown };
    expect(cp.ts).toBe(after[2]!.ts);
    expect(cp.skip).toBeUndefined();
  });

  it('keeps the rest of an unfinished skip in the checkpoint when a page holds only skipped events', async () => {
    const T = stateSecond();
    const atT = makeEvents('authentication', 6, T * 1000, 100);
    fake.add('authentication', atT);
    await writeDuoWatcherLog(atT.slice(0, 4), { timestamp: T, count: 4 });
    const cfgLimit = duoSourceSchema.parse({
      type: 'duo',
      name: 'duo',
      host: fake.host,
      ikey: fake.ikey,
      skey: fake.skey,
      endpoint: await fake.listen(),
      limit: 3,
      resume_from: { duo_watcher: dir },
    });
    const source = new DuoSource(cfgLimit, await createDuoClient(cfgLimit));
    const sink = new MemorySink();
    const state = new MemoryStateStore();
    // Stop after the first page (three skipped events), as a restart would.
    const ctx = await pollContext(sink, state);
    const ac = new AbortController();
    const r1 = await source.pollLog('authentication', {
      ...ctx,
      signal: ac.signal,
      onPage: () => ac.abort(),
    });
    expect(r1.events).toBe(0);
    expect(await state.get(checkpointKey('duo', 'authentication'))).toMatchObject({
      skip: { before: (T + 1) * 1000, count: 1 },
    });
    const again = await duoSource({ duo_watcher: dir });
    await again.pollLog('authentication', await pollContext(sink, state));
    expect([...sink.byId.values()].map((e) => (e.doc.duo as { txid: string }).txid)).toEqual(
      atT.slice(4).map((e) => e.id),
    );
  });

  it("refuses a state file that is not duo_watcher's, in one line naming the file", async () => {
    await mkdir(join(dir, 'auth'));
    await writeFile(join(dir, 'auth', 'state'), '{"timestamp": "1764000000", "count": 1}');
    const source = await duoSource({ duo_watcher: dir });
    const err = await source.checkCheckpoints(new MemoryStateStore()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StateError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^duo_watcher state ${join(dir, 'auth', 'state')} is not \\{"timestamp".*at timestamp\\); refusing to start$`,
      ),
    );
    await writeFile(join(dir, 'auth', 'state'), 'timestamp=1764000000');
    await expect(source.checkCheckpoints(new MemoryStateStore())).rejects.toThrow('is not JSON');
  });

  it('starts a log duo_watcher never collected (no state file) from the lookback', async () => {
    const T = stateSecond();
    fake.add('authentication', makeEvents('authentication', 4, T * 1000, 1000));
    const source = await duoSource({ duo_watcher: dir });
    const r = await source.pollLog('authentication', await pollContext(new MemorySink()));
    expect(r.events).toBe(4);
  });
});
