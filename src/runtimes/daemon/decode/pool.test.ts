import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawItem } from '../../../core/batch.js';
import type { StoredDeadLetter } from '../../../core/component.js';
import { Deadline } from '../../../core/deadline.js';
import { SerializedEvent, serializedDoc } from '../../../core/event.js';
import { defaultLimits } from '../../../core/limits.js';
import { type Pipeline, runBatch } from '../../../core/pipeline.js';
import { gzipJson, rng, subscriptionMessage } from '../../../demo/cwlogs.js';
import { withEnvelopes } from '../../../formats/envelope.js';
import { openRegularFile } from '../../../platform/fsutil.js';
import { parsers } from '../../../registry.js';
import { MemorySink, testPipeline } from '../../../testing/memory.js';
import { DecodePool, MAX_AUTO_WORKERS, workerCount } from './pool.js';
import type { WorkerSpec } from './wire.js';

const spec: WorkerSpec = {
  routes: {
    central: { parser: 'cloudwatch_logs', options: {}, envelope: false, trustEventFields: false },
    inbox: { parser: 'auto', options: {}, envelope: true, trustEventFields: false },
  },
  transforms: [],
  limits: defaultLimits,
  chunkEvents: 1000,
};

let pool: DecodePool;
let dir: string;
beforeAll(async () => {
  pool = new DecodePool(spec, 2);
  dir = await mkdtemp(join(tmpdir(), 'decode-pool-'));
});
afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

const r = rng(16);

/** Kinesis records as the kinesis source hands them over: CloudWatch Logs subscriptions, gzipped. */
function records(count: number, events: number): RawItem[] {
  return Array.from({ length: count }, (_, i) => ({
    ackId: `4959${i}`,
    origin: { source: 'central', type: 'kinesis', ref: `central-logging/shardId-000000000000/4959${i}` },
    body: {
      kind: 'bytes',
      bytes: gzipJson(
        subscriptionMessage({ kind: i % 2 ? 'vpc' : 'app', count: events, start: 1.7e12 + i, r }),
      ),
    },
  }));
}

/** Dead letters without what the store adds (a time, an id). */
function stored(entries: readonly StoredDeadLetter[]) {
  return entries.map(({ time: _t, id: _i, ...entry }) => entry);
}

async function pipelineFor(source: 'central' | 'inbox', over: Partial<Pipeline> = {}) {
  const route = spec.routes[source]!;
  const base = (await parsers[route.parser]!()).create(route.options);
  const sink = new MemorySink();
  const p = testPipeline({ parser: route.envelope ? withEnvelopes(base) : base, sinks: [sink] }, over);
  return { p, sink };
}

/** What a sink and the dead-letter store end up with, in a form two runs can be compared by. */
async function outcome(source: 'central' | 'inbox', items: RawItem[], decoder?: DecodePool) {
  const { p, sink } = await pipelineFor(source, { decoder });
  const res = await runBatch({ source, items }, p);
  const docs = [...sink.byId.values()].map((e) => [e.id, e.dataset, e.timestamp, serializedDoc(e), e.origin]);
  return { res, docs, deadLetters: stored(p.deadLetter.entries), events: [...sink.byId.values()] };
}

describe('DecodePool', () => {
  it('decodes Kinesis records in workers to the same events, ids and dead letters as the main thread', async () => {
    const items = records(6, 40);
    items.splice(2, 0, {
      ackId: 'bad',
      origin: { source: 'central', type: 'kinesis', ref: 'central-logging/shardId-000000000000/bad' },
      body: { kind: 'bytes', bytes: Buffer.from('not gzip, not json') },
    });
    items.push({ ...records(1, 3)[0]!, ackId: 'b64' });
    const b = items.at(-1)!.body;
    if (b.kind === 'bytes') items.at(-1)!.body = { kind: 'base64', text: b.bytes.toString('base64') };
    const here = await outcome('central', items);
    const workers = await outcome('central', items, pool);
    expect(workers.events.every((e) => e instanceof SerializedEvent)).toBe(true);
    expect(here.events.some((e) => e instanceof SerializedEvent)).toBe(false);
    expect(workers.res).toEqual(here.res);
    expect(workers.res.items[2]).toMatchObject({ status: 'dead-lettered' });
    expect(workers.res.events).toBe(6 * 40 + 3);
    expect(workers.docs).toEqual(here.docs);
    expect(workers.deadLetters).toEqual(here.deadLetters);
    // Rules and object-reading sinks see the same doc, parsed only when read.
    expect(workers.events[0]!.doc).toEqual(here.events[0]!.doc);
  });

  it('reads an inbox file in the worker in chunks, with bad lines set aside as in the main thread', async () => {
    const lines = records(30, 20).map((i) =>
      i.body.kind === 'bytes' ? i.body.bytes.toString('base64') : '',
    );
    lines.splice(5, 0, 'H4sIAAAAAAAAA3N0dHIGAP8l9IkDAAAA', '{"half a JSON');
    const path = join(dir, 'copied-records.txt');
    await writeFile(path, `${lines.join('\n')}\n`);
    const item = (): RawItem => ({
      ackId: path,
      origin: { source: 'inbox', type: 'file', ref: path },
      body: { kind: 'stream', open: () => openRegularFile(path), file: path },
    });
    const small = { delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 50 } };
    const { p: hereP, sink: hereSink } = await pipelineFor('inbox', small);
    const here = await runBatch({ source: 'inbox', items: [item()] }, hereP);
    const chunked = new DecodePool({ ...spec, chunkEvents: 50 }, 1);
    try {
      const { p, sink } = await pipelineFor('inbox', { ...small, decoder: chunked });
      const res = await runBatch({ source: 'inbox', items: [item()] }, p);
      expect(res).toEqual(here);
      expect(res.items[0]!.events).toBeGreaterThanOrEqual(600);
      expect([...sink.byId.keys()]).toEqual([...hereSink.byId.keys()]);
      expect(sink.writes.length).toBeGreaterThan(10);
      expect(stored(p.deadLetter.entries)).toEqual(stored(hereP.deadLetter.entries));
    } finally {
      await chunked.close();
    }
  });

  it('stops decoding what the deadline left untried, and goes on with the next batch', async () => {
    let now = 0;
    const one = new DecodePool({ ...spec, chunkEvents: 1 }, 1);
    try {
      const { p, sink } = await pipelineFor('central', {
        decoder: one,
        delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 1 },
      });
      const write = sink.write.bind(sink);
      sink.write = (events) => {
        now += 10;
        return write(events);
      };
      // Many one-event chunks per item: a worker that was not told would wait for acks forever.
      const res = await runBatch(
        { source: 'central', items: records(4, 100) },
        p,
        Deadline.in(5, 0, () => now),
      );
      expect(res.cutShort).toBe(true);
      expect(res.items.slice(1).map((i) => i.status)).toEqual(['failed', 'failed', 'failed']);
      const next = await runBatch({ source: 'central', items: records(2, 30) }, p);
      expect(next.items.map((i) => i.status)).toEqual(['delivered', 'delivered']);
    } finally {
      await one.close();
    }
  });

  it('keeps decoding what the event cap deferred, for the next delivery of the same items to read', async () => {
    const items = records(3, 40);
    const { p, sink } = await pipelineFor('central', { decoder: pool });
    const cap = { events: 40 };
    const first = await runBatch({ source: 'central', items }, p, undefined, cap);
    expect(first.deferredFrom).toBe(1);
    // The records change once the first delivery is over: only decodings started by it still
    // have them as they were (a new decoding would read zeros and dead-letter them).
    for (const item of items.slice(1)) if (item.body.kind === 'bytes') item.body.bytes.fill(0);
    const second = await runBatch({ source: 'central', items: items.slice(1) }, p, undefined, cap);
    expect(second.deferredFrom).toBe(1);
    const third = await runBatch({ source: 'central', items: items.slice(2) }, p, undefined, cap);
    expect([first, second, third].map((r) => r.items[0]!.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    expect(sink.byId.size).toBe(120);
    expect(p.deadLetter.entries).toEqual([]);
    expect(pool.keptCount).toBe(0);
  });

  it('cancels a kept decoding nobody asks for again, so its worker goes on with other items', async () => {
    // One-event chunks: every kept item soon waits for acks that never come, and holds its worker.
    const one = new DecodePool({ ...spec, chunkEvents: 1 }, 1, { keepMs: 20 });
    try {
      const { p, sink } = await pipelineFor('central', { decoder: one });
      const first = await runBatch({ source: 'central', items: records(10, 100) }, p, undefined, {
        events: 100,
      });
      expect(first.deferredFrom).toBe(1);
      expect(one.keptCount).toBe(9);
      // The runner read again from its cursor: new item objects, the kept decodings go unclaimed.
      while (one.keptCount > 0) await new Promise((r) => setTimeout(r, 5));
      const again = await runBatch({ source: 'central', items: records(2, 30) }, p);
      expect(again.items.map((i) => i.status)).toEqual(['delivered', 'delivered']);
      expect(sink.byId.size).toBe(100 + 60);
    } finally {
      await one.close();
    }
  });

  it('starts the next item while the one in hand waits for its chunks to be taken', async () => {
    const one = new DecodePool({ ...spec, chunkEvents: 1 }, 1);
    try {
      const [waiting, next] = records(2, 100);
      const held = one.decode(waiting!, 'central')!;
      // The first item is not read: its worker soon has all the chunks it may send ahead of it.
      let events = 0;
      for await (const chunk of one.decode(next!, 'central')!) events += chunk.events.length;
      expect(events).toBe(100);
      held.cancel();
    } finally {
      await one.close();
    }
  });

  it('fails the items of a worker that died as retryable, to be read again, not dead-lettered', async () => {
    // A worker that cannot start: its transform's regex does not compile (config validation
    // refuses it; here it stands for any way a worker dies).
    const transforms = [
      { type: 'parse', field: 'message', regex: '(', fields: {} },
    ] as WorkerSpec['transforms'];
    const broken = new DecodePool({ ...spec, transforms }, 1);
    try {
      const { p } = await pipelineFor('central', { decoder: broken });
      const res = await runBatch({ source: 'central', items: records(3, 5) }, p);
      expect(res.items.map((i) => i.status)).toEqual(['failed', 'failed', 'failed']);
      expect(res.items[0]!.error).toMatch(/^parse: decode worker failed: /);
      expect(p.deadLetter.entries).toEqual([]);
    } finally {
      await broken.close();
    }
  });

  it('leaves object items and unknown sources to the main thread', () => {
    const origin = { source: 'central', type: 'duo', ref: 'x' };
    expect(
      pool.decode({ ackId: 'o', origin, body: { kind: 'object', value: {} } }, 'central'),
    ).toBeUndefined();
    const bytes: RawItem = { ackId: 'b', origin, body: { kind: 'bytes', bytes: Buffer.from('{}') } };
    expect(pool.decode(bytes, 'duo')).toBeUndefined();
  });
});

describe('workerCount', () => {
  it('gives auto one worker per core, none on one core, capped, and takes numbers as they are', () => {
    expect(workerCount('auto', 1)).toBe(0);
    expect(workerCount('auto', 2)).toBe(2);
    expect(workerCount('auto', 64)).toBe(MAX_AUTO_WORKERS);
    expect(workerCount(0, 8)).toBe(0);
    expect(workerCount(3, 2)).toBe(3);
  });
});
