import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../app.js';
import { parseConfig } from '../../config/load.js';
import type { Sink, StateStore } from '../../core/component.js';
import { Deadline } from '../../core/deadline.js';
import { StateError } from '../../core/errors.js';
import { runBatch } from '../../core/pipeline.js';
import { makeEvents } from '../../demo/duo-events.js';
import { FakeDuo } from '../../demo/duo-fake.js';
import { memoryLogger } from '../../platform/log.js';
import { parsers } from '../../registry.js';
import { DailyFilesSink } from '../../sinks/daily_files/index.js';
import { dailyFilesSinkSchema } from '../../sinks/daily_files/schema.js';
import { FileStateStore } from '../../state/file/index.js';
import { MemorySink, MemoryStateStore, testPipeline } from '../../testing/memory.js';
import { checkpointKey } from './checkpoint.js';
import { DuoApiError, DuoAuthError } from './client.js';
import { createDuoClient, DuoSource, type PollContext } from './index.js';
import { duoSourceSchema } from './schema.js';

const fakes: FakeDuo[] = [];
afterEach(async () => {
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(opts: { skey?: string; over?: Record<string, unknown>; fake?: FakeDuo } = {}) {
  const fake = opts.fake ?? new FakeDuo();
  fakes.push(fake);
  const endpoint = await fake.listen();
  const cfg = duoSourceSchema.parse({
    type: 'duo',
    name: 'duo',
    host: fake.host,
    ikey: fake.ikey,
    skey: opts.skey ?? fake.skey,
    endpoint,
    lookback: '1d',
    retry: { backoff: '1ms', max_backoff: '4ms' },
    ...opts.over,
  });
  const source = new DuoSource(cfg, await createDuoClient(cfg));
  return { fake, cfg, source };
}

async function pipelineFor(sink: Sink) {
  const loaded = new Map<string, Awaited<ReturnType<(typeof parsers)[string]>>>();
  const p = testPipeline(
    { parser: (await parsers.duo_auth!()).create({}), sinks: [sink] },
    {
      parser: async (name) => {
        if (!loaded.has(name)) loaded.set(name, await parsers[name]!());
        return loaded.get(name)!.create({});
      },
    },
  );
  return p;
}

async function ctxFor(sink: Sink, state: StateStore = new MemoryStateStore()) {
  const pipeline = await pipelineFor(sink);
  const ctx: PollContext = { state, log: memoryLogger(), process: (b) => runBatch(b, pipeline) };
  return { ctx, pipeline, state };
}

const base = Date.now() - 3_600_000;

describe('Duo source against the strict fake', () => {
  it('reads 2,500 authentication events sharing one millisecond across pages, once each', async () => {
    const { fake, source } = await setup();
    fake.add('authentication', makeEvents('authentication', 2500, base, 0));
    const sink = new MemorySink();
    const { ctx, state } = await ctxFor(sink);
    const r = await source.pollLog('authentication', ctx);
    expect(r).toMatchObject({ events: 2500, caughtUp: true });
    expect(sink.byId.size).toBe(2500);
    expect(sink.writes.flat().length).toBe(2500);
    expect(fake.requests.every((q) => q.status === 200)).toBe(true);
    // Never asked for the last two minutes, always the maximum page.
    for (const q of fake.requests) {
      expect(Number(q.params.maxtime)).toBeLessThanOrEqual(Date.now() - 120_000);
      expect(q.params.limit).toBe('1000');
    }
    const cp = await state.get<{ ts: number; seen: string[] }>(checkpointKey('duo', 'authentication'));
    expect(cp?.ts).toBe(base);
    expect(cp?.seen).toHaveLength(2500);
    // A second poll finds nothing new: no duplicates.
    const again = await source.pollLog('authentication', ctx);
    expect(again.events).toBe(0);
    expect(sink.writes.flat().length).toBe(2500);
  });

  it('pages the administrator log (v1, seconds) and the telephony log (v2, opaque next_offset) exactly', async () => {
    const { fake, source } = await setup();
    fake.add('administrator', makeEvents('administrator', 2500, base, 5));
    fake.add('telephony', makeEvents('telephony', 2500, base, 0.5));
    const sink = new MemorySink();
    const { ctx } = await ctxFor(sink);
    expect((await source.pollLog('administrator', ctx)).events).toBe(2500);
    expect((await source.pollLog('telephony', ctx)).events).toBe(2500);
    expect(sink.byId.size).toBe(5000);
    expect(sink.writes.flat().length).toBe(5000);
    expect((await source.pollLog('administrator', ctx)).events).toBe(0);
    expect(fake.requests.filter((q) => q.path.includes('administrator')).length).toBeGreaterThanOrEqual(3);
  });

  it('asks Duo for no page once the deadline has passed (a Lambda ends on time)', async () => {
    const { fake, source } = await setup();
    fake.add('administrator', makeEvents('administrator', 2500, base, 5));
    const { ctx } = await ctxFor(new MemorySink());
    let clock = 0;
    const r = await source.pollLog('administrator', {
      ...ctx,
      deadline: Deadline.in(1000, 0, () => clock),
      process: async (b) => {
        const res = await ctx.process(b);
        clock = 2000;
        return res;
      },
    });
    expect(r).toMatchObject({ events: 1000, caughtUp: false });
    expect(fake.requests.filter((q) => q.path.includes('administrator'))).toHaveLength(1);
  });

  it('picks up events that arrive after a poll, and only those', async () => {
    const { fake, source } = await setup();
    fake.add('authentication', makeEvents('authentication', 10, base, 1000));
    const sink = new MemorySink();
    const { ctx } = await ctxFor(sink);
    await source.pollLog('authentication', ctx);
    fake.add('authentication', makeEvents('authentication', 5, base + 9000, 0, 10));
    const r = await source.pollLog('authentication', ctx);
    expect(r.events).toBe(5);
    expect(sink.writes.flat().length).toBe(15);
  });

  it('stops a log on a wrong secret (401) with an error naming the ikey, never the secret', async () => {
    const { fake, source } = await setup({ skey: 'wrong-secret-key-value' });
    fake.add('authentication', makeEvents('authentication', 3, base, 10));
    const { ctx } = await ctxFor(new MemorySink());
    const err = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DuoAuthError);
    expect((err as Error).message).toContain(fake.ikey);
    expect((err as Error).message).toContain('40103');
    expect((err as Error).message).not.toContain('wrong-secret-key-value');
    expect(fake.requests).toHaveLength(1);
  });

  it("answers a bad signature with Duo's 401 error body", async () => {
    const fake = new FakeDuo();
    fakes.push(fake);
    const endpoint = await fake.listen();
    const res = await fetch(`${endpoint}/admin/v2/logs/authentication?mintime=1&maxtime=2`, {
      headers: {
        Date: new Date().toUTCString(),
        Authorization: `Basic ${Buffer.from(`${fake.ikey}:abc`).toString('base64')}`,
      },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      code: 40103,
      message: 'Invalid signature in request credentials',
      stat: 'FAIL',
    });
  });

  it('fails on clock skew: the fake refuses a Date header too far from its clock', async () => {
    const fake = new FakeDuo({ now: () => Date.now() + 10 * 60_000 });
    const { source } = await setup({ fake });
    const { ctx } = await ctxFor(new MemorySink());
    const err = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DuoAuthError);
    expect((err as Error).message).toMatch(/clock/);
  });

  it('rides out a 429 storm with backoff and still delivers every event once', async () => {
    const { fake, source } = await setup();
    fake.rateLimit = 0.6;
    fake.add('authentication', makeEvents('authentication', 2500, base, 1));
    const sink = new MemorySink();
    const { ctx } = await ctxFor(sink);
    const r = await source.pollLog('authentication', ctx);
    expect(r.events).toBe(2500);
    expect(source.client.stats.rateLimited).toBeGreaterThan(0);
    expect(sink.writes.flat().length).toBe(2500);
  });

  it('gives up on a network error or a 429 storm after the bounded retries, leaving the checkpoint alone', async () => {
    const { fake, source } = await setup({
      over: { retry: { backoff: '1ms', max_backoff: '4ms', max_errors: 2, max_rate_limited: 3 } },
    });
    fake.add('authentication', makeEvents('authentication', 5, base, 10));
    const { ctx, state } = await ctxFor(new MemorySink());
    fake.rateLimit = 1;
    const storm = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect((storm as Error).message).toMatch(/still rate limited \(HTTP 429\) after 3 retries/);
    expect(fake.requests).toHaveLength(4);
    await fake.close();
    const down = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect((down as Error).message).toMatch(/network error.*gave up after 2 retries/);
    // The connection error itself stays reachable for whoever logs or inspects it.
    expect((down as Error).cause).toBeInstanceOf(Error);
    expect(await state.get(checkpointKey('duo', 'authentication'))).toBeUndefined();
  });

  it('retries a 500 in the middle of pagination, and resumes from the checkpoint when retries run out', async () => {
    const { fake, source } = await setup();
    fake.add('authentication', makeEvents('authentication', 2500, base, 0));
    const sink = new MemorySink();
    const { ctx, state } = await ctxFor(sink);
    // Page 1 fine, then more 500s than the retry budget (4): the poll fails after page 1.
    const origAdd = fake.requests.push.bind(fake.requests);
    let injected = false;
    fake.requests.push = (...r) => {
      const n = origAdd(...r);
      if (!injected && n === 1) {
        injected = true;
        fake.inject('500', 5);
      }
      return n;
    };
    const err = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/HTTP 500/);
    const cp = await state.get<{ seen: string[] }>(checkpointKey('duo', 'authentication'));
    expect(cp?.seen).toHaveLength(1000);
    const r = await source.pollLog('authentication', ctx);
    expect(r.events).toBe(1500);
    expect(sink.writes.flat().length).toBe(2500);
    expect(sink.byId.size).toBe(2500);
  });

  it('retries malformed JSON, and gives up with a clear error when it persists', async () => {
    const { fake, source } = await setup();
    fake.add('authentication', makeEvents('authentication', 5, base, 10));
    const sink = new MemorySink();
    const { ctx, state } = await ctxFor(sink);
    fake.inject('malformed', 1).inject('truncated', 1);
    expect((await source.pollLog('authentication', ctx)).events).toBe(5);
    fake.add('authentication', makeEvents('authentication', 5, base + 100, 10, 5));
    fake.inject('malformed', 10);
    const err = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/unreadable body/);
    expect((await state.get<{ seen: string[] }>(checkpointKey('duo', 'authentication')))?.seen).toHaveLength(
      1,
    );
    expect(sink.byId.size).toBe(5);
  });

  it('cuts off a response body over max_response_bytes and stops the log without retrying', async () => {
    const { fake, source } = await setup({ over: { max_response_bytes: 64 * 1024 } });
    fake.add('authentication', makeEvents('authentication', 1000, base, 10));
    const sink = new MemorySink();
    const { ctx, state } = await ctxFor(sink);
    const err = await source.pollLog('authentication', ctx).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DuoApiError);
    expect((err as DuoApiError).message).toBe(
      'Duo /admin/v2/logs/authentication: response is over the 65536-byte limit',
    );
    expect((err as DuoApiError).retryable).toBe(false);
    expect(fake.requests).toHaveLength(1);
    expect(sink.byId.size).toBe(0);
    expect(await state.get(checkpointKey('duo', 'authentication'))).toBeUndefined();
  });

  it('dead-letters an event without a timestamp and goes on past it', async () => {
    const { fake, source } = await setup();
    const events = makeEvents('authentication', 5, base, 10);
    fake.add('authentication', events);
    fake.withoutTimestamp.add(events[2]!.id);
    const sink = new MemorySink();
    const { ctx, pipeline } = await ctxFor(sink);
    const r = await source.pollLog('authentication', ctx);
    expect(r.events).toBe(5);
    expect(sink.byId.size).toBe(4);
    expect(pipeline.deadLetter.entries).toHaveLength(1);
    const dl = pipeline.deadLetter.entries[0]!;
    expect(dl.error).toMatch(/authentication event has no timestamp/);
    expect(dl.origin.ref).toContain(events[2]!.id);
    expect(JSON.parse(Buffer.from(dl.data!, 'base64').toString()).txid).toBe(events[2]!.id);
    expect((await source.pollLog('authentication', ctx)).events).toBe(0);
  });

  it('refuses to start on a corrupt, half-written or foreign checkpoint file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-cp-'));
    const { source } = await setup();
    const state = new FileStateStore(dir);
    const file = join(dir, `${encodeURIComponent(checkpointKey('duo', 'authentication'))}.json`);
    for (const content of ['{"v":1,"ts":17000', 'garbage', '{"v":1,"ts":"soon","seen":[]}']) {
      await writeFile(file, content);
      const err = await source.checkCheckpoints(state).catch((e: Error) => e);
      expect(err).toBeInstanceOf(StateError);
      expect((err as Error).message).toMatch(/refusing to start/);
    }
  });

  it('holds each event once in the daily files after a crash between delivery and checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-exact-'));
    const fake = new FakeDuo();
    fake.add('authentication', makeEvents('authentication', 2500, base, 0));
    const dailyCfg = dailyFilesSinkSchema.parse({
      name: 'daily',
      type: 'daily_files',
      path: join(dir, 'logs'),
      directories: { 'duo.authentication': 'auth' },
      retention_days: 0,
    });
    const fileState = new FileStateStore(join(dir, 'state'));
    // The process "dies" right after the second page is delivered, before its checkpoint.
    let puts = 0;
    const dying: StateStore = {
      get: (k) => fileState.get(k),
      delete: (k) => fileState.delete(k),
      put: async (k, v) => {
        if (++puts === 2) throw new Error('killed');
        await fileState.put(k, v);
      },
    };
    const first = await setup({ fake });
    const sink1 = new DailyFilesSink(dailyCfg);
    const a = await ctxFor(sink1, dying);
    await expect(first.source.pollLog('authentication', a.ctx)).rejects.toThrow('killed');
    await sink1.close();

    const second = await setup({ fake });
    const sink2 = new DailyFilesSink(dailyCfg);
    const b = await ctxFor(sink2, fileState);
    const r = await second.source.pollLog('authentication', b.ctx);
    expect(r.events).toBe(1500);
    await sink2.close();

    const files = await readdir(join(dir, 'logs', 'auth'));
    const lines = (await Promise.all(files.map((f) => readFile(join(dir, 'logs', 'auth', f), 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean);
    const txids = lines.map((l) => (JSON.parse(l) as { duo: { txid: string } }).duo.txid);
    expect(txids).toHaveLength(2500);
    expect(new Set(txids).size).toBe(2500);
  });

  it('moves the checkpoint only past events every sink has', async () => {
    const { fake, source } = await setup();
    fake.add('authentication', makeEvents('authentication', 10, base, 10));
    const sink = new MemorySink().failNext(3, true, (_i, e) => e.timestamp >= base + 40);
    const { ctx, state } = await ctxFor(sink);
    const r = await source.pollLog('authentication', ctx);
    expect(r.failed).toMatch(/429/);
    expect(r.events).toBe(4);
    const cp = await state.get<{ ts: number }>(checkpointKey('duo', 'authentication'));
    expect(cp?.ts).toBe(base + 30);
    const again = await source.pollLog('authentication', ctx);
    expect(again.events).toBe(6);
    expect(sink.byId.size).toBe(10);
  });

  it('runs one loop per log in the daemon, writing the log host layout (auth, admin, phone)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-daemon-'));
    const fake = new FakeDuo();
    fakes.push(fake);
    const endpoint = await fake.listen();
    fake.add('authentication', makeEvents('authentication', 1500, base, 2));
    fake.add('administrator', makeEvents('administrator', 20, base, 1000));
    fake.add('telephony', makeEvents('telephony', 30, base, 100));
    const config = parseConfig(
      readFileSync(join(import.meta.dirname, '../../../config/examples/duo-local.yaml'), 'utf8').replaceAll(
        './var',
        dir,
      ),
      'duo-local.yaml',
      { DUO_API_HOST: fake.host, DUO_IKEY: fake.ikey, DUO_SKEY: fake.skey },
    );
    Object.assign(config.sources[0]!, { endpoint });
    const log = memoryLogger();
    const app = await buildApp(config, { log });
    process.env.DUO_SKEY = fake.skey;
    const [source] = (await app.createSources()) as DuoSource[];
    delete process.env.DUO_SKEY;
    const stop = new AbortController();
    const running = source!.run({
      state: app.state,
      signal: stop.signal,
      limits: config.limits,
      log,
      process: (b) => runBatch(b, app.pipeline),
    });
    const counts = () => {
      const logs = source!.status().logs as Record<string, { events: number }>;
      return [logs.authentication!.events, logs.administrator!.events, logs.telephony!.events];
    };
    for (let i = 0; i < 200 && counts().join() !== '1500,20,30'; i++)
      await new Promise((r) => setTimeout(r, 25));
    stop.abort();
    await running;
    await app.close();
    expect(counts()).toEqual([1500, 20, 30]);
    const lineCount = async (sub: string) => {
      let n = 0;
      for (const f of await readdir(join(dir, 'duo', sub)))
        n += (await readFile(join(dir, 'duo', sub, f), 'utf8')).split('\n').filter(Boolean).length;
      return n;
    };
    expect([await lineCount('auth'), await lineCount('admin'), await lineCount('phone')]).toEqual([
      1500, 20, 30,
    ]);
    expect(JSON.stringify(source!.status())).not.toContain(fake.skey);
  });
});
