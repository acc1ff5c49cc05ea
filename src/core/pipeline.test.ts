import { describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../platform/memory-log.js';
import { MemorySink, testPipeline } from '../testing/memory.js';
import type { RawItem } from './batch.js';
import type { Detector, Parser } from './component.js';
import { Deadline } from './deadline.js';
import { ParseError } from './errors.js';
import { type EventDraft, FinalEvent, SerializedEvent, serializedDoc } from './event.js';
import { type Pipeline, runBatch } from './pipeline.js';

/** Each item's bytes are "n" (make n events) or "bad" / "bad-after-2" / "boom". */
const countingParser: Parser = {
  name: 'counting',
  *parse(item: RawItem): Iterable<EventDraft> {
    const text = item.body.kind === 'bytes' ? item.body.bytes.toString() : '';
    if (text === 'bad') throw new ParseError('not a number');
    if (text === 'boom') throw new TypeError('bug in a parser');
    const n = text.startsWith('bad-after-') ? Number(text.slice(10)) : Number(text);
    for (let i = 0; i < n; i++)
      yield { dataset: 'test', timestamp: 1_700_000_000_000 + i, doc: { n: i }, idParts: [item.ackId, i] };
    if (text.startsWith('bad-after-')) throw new ParseError('damaged', { position: 'byte 99' });
  },
};

function items(...bodies: string[]): RawItem[] {
  return bodies.map((b, i) => ({
    ackId: `a${i}`,
    origin: { source: 's', type: 'test', ref: `test/${i}` },
    body: { kind: 'bytes', bytes: Buffer.from(b) },
  }));
}

describe('runBatch', () => {
  it('delivers every event and reports each item', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('2', '3', '0') }, p);
    expect(res.items.map((r) => [r.status, r.events])).toEqual([
      ['delivered', 2],
      ['delivered', 3],
      ['delivered', 0],
    ]);
    expect(sink.byId.size).toBe(5);
    const ev = [...sink.byId.values()][0]!;
    expect(ev.doc['@timestamp']).toBe('2023-11-14T22:13:20.000Z');
    expect(ev.doc.event).toMatchObject({ id: ev.id, dataset: 'test' });
  });

  it('stops starting items once the event cap is reached and hands the rest back as deferred', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('2', '3', '1', '4') }, p, undefined, {
      events: 4,
    });
    expect(res.deferredFrom).toBe(2);
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered', 'failed', 'failed']);
    expect(res.items[2]!.error).toContain('event cap');
    expect(sink.byId.size).toBe(5);
  });

  it('gives the same ids on a replay', async () => {
    const a = new MemorySink();
    const b = new MemorySink();
    await runBatch({ source: 's', items: items('3') }, testPipeline({ parser: countingParser, sinks: [a] }));
    await runBatch({ source: 's', items: items('3') }, testPipeline({ parser: countingParser, sinks: [b] }));
    expect([...a.byId.keys()]).toEqual([...b.byId.keys()]);
  });

  it('dead-letters an unreadable item with its bytes and lets the rest through', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('1', 'bad', '1') }, p);
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'dead-lettered', 'delivered']);
    expect(res.items[1]!.error).toBe('parse test/1: not a number');
    expect(sink.byId.size).toBe(2);
    expect(p.deadLetter.entries).toHaveLength(1);
    expect(p.deadLetter.entries[0]).toMatchObject({
      kind: 'item',
      parser: 'counting',
      data: Buffer.from('bad').toString('base64'),
    });
  });

  it('keeps the content of an object item (a Duo event) in its dead letter', async () => {
    const noTimestamp: Parser = {
      name: 'duo_auth',
      parse() {
        throw new ParseError('event has no timestamp');
      },
    };
    const p = testPipeline({ parser: noTimestamp, sinks: [new MemorySink()] });
    const value = { txid: 'abc', user: { name: 'alice' } };
    const item: RawItem = {
      ackId: 'o',
      origin: { source: 's', type: 'duo', ref: 'duo/auth/abc' },
      body: { kind: 'object', value },
    };
    const res = await runBatch({ source: 's', items: [item] }, p);
    expect(res.items[0]!.status).toBe('dead-lettered');
    expect(JSON.parse(Buffer.from(p.deadLetter.entries[0]!.data!, 'base64').toString())).toEqual(value);
  });

  it('delivers the events parsed before damage and records where the damage was', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('bad-after-2') }, p);
    expect(res.items[0]).toMatchObject({ status: 'dead-lettered', events: 2 });
    expect(sink.byId.size).toBe(2);
    expect(p.deadLetter.entries[0]!.position).toBe('byte 99');
  });

  it('dead-letters an item whose parser has a bug instead of acknowledging it silently', async () => {
    const p = testPipeline({ parser: countingParser, sinks: [new MemorySink()] });
    const res = await runBatch({ source: 's', items: items('boom') }, p);
    expect(res.items[0]!.status).toBe('dead-lettered');
    expect(p.deadLetter.entries[0]!.error).toContain('TypeError: bug in a parser');
  });

  it('retries only the events a sink failed, then succeeds', async () => {
    const sink = new MemorySink().failNext(2, true, (i) => i % 2 === 0);
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('4') }, p);
    expect(res.items[0]!.status).toBe('delivered');
    // The fault hits even positions of each write: 4 → 2 left → 1 left → done.
    expect(sink.writes.map((w) => w.length)).toEqual([4, 2, 1]);
    expect(sink.byId.size).toBe(4);
  });

  it('fails the items whose events still fail after the last attempt, and only those', async () => {
    const sink = new MemorySink().failNext(10, true, (_i, e) => e.doc.n === 0 && e.origin.ref === 'test/1');
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('2', '2', '2') }, p);
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'failed', 'delivered']);
    expect(res.items[1]!.error).toContain('destination busy (429)');
  });

  it('dead-letters events a sink refuses permanently and acknowledges their item', async () => {
    const sink = new MemorySink().failNext(1, false, (i) => i === 1);
    const p = testPipeline({ parser: countingParser, sinks: [sink] });
    const res = await runBatch({ source: 's', items: items('3') }, p);
    expect(res.items[0]!.status).toBe('delivered');
    expect(p.deadLetter.entries).toHaveLength(1);
    expect(p.deadLetter.entries[0]).toMatchObject({ kind: 'event', sink: 'memory', retryable: false });
    expect(sink.writes).toHaveLength(1);
  });

  it('needs every sink: one failing sink fails the item even if another took it', async () => {
    const good = new MemorySink('good');
    const bad = new MemorySink('bad').failNext(99, true);
    const res = await runBatch(
      { source: 's', items: items('1') },
      testPipeline({ parser: countingParser, sinks: [good, bad] }),
    );
    expect(res.items[0]!.status).toBe('failed');
    expect(good.byId.size).toBe(1);
  });

  it('fails an item when the dead-letter store cannot take it', async () => {
    const p = testPipeline({ parser: countingParser, sinks: [new MemorySink()] });
    p.deadLetter.put = async () => {
      throw new Error('disk full');
    };
    const res = await runBatch({ source: 's', items: items('bad') }, p);
    expect(res.items[0]!.status).toBe('failed');
    expect(res.items[0]!.error).toContain('disk full');
  });

  it('chunks events across items and still reports per item', async () => {
    const sink = new MemorySink();
    const p = testPipeline(
      { parser: countingParser, sinks: [sink] },
      {
        delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 3 },
      },
    );
    const res = await runBatch({ source: 's', items: items('2', '2', '2') }, p);
    expect(sink.writes.map((w) => w.length)).toEqual([3, 3]);
    expect(res.items.every((r) => r.status === 'delivered')).toBe(true);
  });

  it('stops at the deadline and hands back what it did not try', async () => {
    let now = 0;
    const deadline = Deadline.in(100, 0, () => now);
    const slow: Parser = {
      name: 'slow',
      *parse(item) {
        now += 60;
        yield { dataset: 't', timestamp: 0, doc: {}, idParts: [item.ackId] };
      },
    };
    const res = await runBatch(
      { source: 's', items: items('1', '1', '1', '1') },
      testPipeline({ parser: slow, sinks: [new MemorySink()] }),
      deadline,
    );
    expect(res.cutShort).toBe(true);
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered', 'failed', 'failed']);
    expect(res.items[3]!.error).toBe('not tried: deadline reached');
  });

  it('applies transforms and drops what they drop', async () => {
    const sink = new MemorySink();
    const p = testPipeline(
      { parser: countingParser, sinks: [sink] },
      {
        transforms: [(e) => (e.doc.n === 1 ? null : e)],
      },
    );
    const res = await runBatch({ source: 's', items: items('3') }, p);
    expect(res.items[0]!.events).toBe(2);
    expect(sink.byId.size).toBe(2);
  });

  it('sets aside rejected parts and keeps the item', async () => {
    const rejecting: Parser = {
      name: 'rejecting',
      async *parse(item, ctx) {
        yield { dataset: 't', timestamp: 0, doc: {}, idParts: [item.ackId, 1] };
        await ctx.reject({ ref: 'line 2', data: 'garbage' }, new ParseError('line 2 is not JSON'));
        yield { dataset: 't', timestamp: 0, doc: {}, idParts: [item.ackId, 3] };
      },
    };
    const p = testPipeline({ parser: rejecting, sinks: [new MemorySink()] });
    const res = await runBatch({ source: 's', items: items('x') }, p);
    expect(res.items[0]).toMatchObject({ status: 'delivered', events: 2, rejected: 1 });
    expect(p.deadLetter.entries[0]!.origin.ref).toBe('test/0 line 2');
    expect(p.deadLetter.entries[0]!.error).toBe('parse test/0 line 2: line 2 is not JSON');
  });
});

describe('runBatch with a synchronous parser', () => {
  it('takes all its events without a promise turn between them', async () => {
    const turns: boolean[] = [];
    let microtaskRan = false;
    const parser: Parser = {
      name: 'sync',
      *parse(): Iterable<EventDraft> {
        for (let i = 0; i < 3; i++) {
          turns.push(microtaskRan);
          queueMicrotask(() => {
            microtaskRan = true;
          });
          yield { dataset: 'test', timestamp: 1_700_000_000_000, doc: { i }, idParts: [i] };
        }
      },
    };
    const sink = new MemorySink();
    const res = await runBatch({ source: 's', items: items('x') }, testPipeline({ parser, sinks: [sink] }));
    expect(res.events).toBe(3);
    expect(turns).toEqual([false, false, false]);
    expect(sink.byId.size).toBe(3);
  });
});

describe('runBatch with a parser that hands over chunks', () => {
  /** `parse` is what other readers use; the pipeline must prefer `parseChunks`. */
  const chunked: Parser = {
    name: 'chunked',
    parse(): Iterable<EventDraft> {
      throw new Error('the pipeline read drafts one by one');
    },
    async *parseChunks(item: RawItem) {
      const draft = (i: number): EventDraft => ({
        dataset: 'test',
        timestamp: 1_700_000_000_000 + i,
        doc: { i },
        idParts: [item.ackId, i],
      });
      yield [draft(0), draft(1), draft(2)];
      yield draft(3);
      yield [];
      yield [draft(4)];
    },
  };

  it('takes every draft of every chunk in order, and splits chunks across sink writes', async () => {
    const sink = new MemorySink();
    const p = testPipeline(
      { parser: chunked, sinks: [sink] },
      { delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 2 } },
    );
    const res = await runBatch({ source: 's', items: items('x', 'y') }, p);
    expect(res.items.map((r) => [r.status, r.events])).toEqual([
      ['delivered', 5],
      ['delivered', 5],
    ]);
    expect(sink.writes.map((w) => w.length)).toEqual([2, 2, 2, 2, 2]);
    expect([...sink.byId.values()].map((e) => e.doc.i)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  });

  it('looks up a parser that items name once per batch, and dead-letters items naming none', async () => {
    const sink = new MemorySink();
    const asked: string[] = [];
    const p = testPipeline(
      { parser: countingParser, sinks: [sink] },
      {
        parser: async (name) => {
          asked.push(name);
          return name === 'counting' ? countingParser : undefined;
        },
      },
    );
    const named = items('1', '2', '3', '1').map((it, i) => ({
      ...it,
      parser: i === 3 ? 'nope' : 'counting',
    }));
    const res = await runBatch({ source: 's', items: named }, p);
    expect(res.items.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'dead-lettered']);
    expect(res.items[3]!.error).toContain("no parser named 'nope'");
    expect(sink.byId.size).toBe(6);
    expect(asked).toEqual(['counting', 'nope']);
  });

  it('counts items by status with one metrics update per status', async () => {
    const p = testPipeline({ parser: countingParser, sinks: [new MemorySink()] });
    const inc = vi.spyOn(p.metrics, 'inc');
    await runBatch({ source: 's', items: items('1', 'bad', '2', '3', 'bad') }, p);
    const itemUpdates = inc.mock.calls.filter(([name]) => name === 'logferry_items_total');
    expect(itemUpdates.map(([, labels, by]) => [labels, by])).toEqual([
      [{ source: 's', status: 'delivered' }, 3],
      [{ source: 's', status: 'dead-lettered' }, 2],
    ]);
    expect(p.metrics.get('logferry_items_total', { source: 's', status: 'delivered' })).toBe(3);
  });

  it('a synchronous parse that fills a chunk midway and then breaks delivers what came before and closes the parser', async () => {
    const sink = new MemorySink();
    let closed = 0;
    const parser: Parser = {
      name: 'closing',
      *parse(item: RawItem): Iterable<EventDraft> {
        try {
          for (let i = 0; i < 5; i++)
            yield { dataset: 'test', timestamp: 1_700_000_000_000, doc: { i }, idParts: [item.ackId, i] };
        } finally {
          closed++;
        }
      },
    };
    // A transform that breaks on the fourth event: an error on the taking side, after a flush.
    let seen = 0;
    const p = testPipeline(
      { parser, sinks: [sink] },
      {
        transforms: [
          (ev) => {
            if (++seen === 4) throw new TypeError('bug in a transform');
            return ev;
          },
        ],
        delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 2 },
      },
    );
    const res = await runBatch({ source: 's', items: items('x') }, p);
    expect(res.items[0]!.status).toBe('dead-lettered');
    expect(sink.byId.size).toBe(3);
    expect(closed).toBe(1);
  });
});

describe('runBatch keeps buffered events as text where nothing reads their objects', () => {
  /** A MemorySink that says it reads only each event's JSON text. */
  class TextSink extends MemorySink {
    readonly writesText = true;
  }
  const drafts: Parser = {
    name: 'shaped',
    *parse(item: RawItem): Iterable<EventDraft> {
      for (let i = 0; i < 3; i++)
        yield {
          dataset: 'test',
          timestamp: 1_700_000_000_000 + i,
          doc: { '@timestamp': '', n: i, note: `é ${item.ackId}`, nested: { list: [i, 'x'] } },
          idParts: [item.ackId, i],
          // The parser's own writer builds the text by concatenation (a rope), as real ones do.
          toJson: (d) => `{${JSON.stringify(d).slice(1)}`,
          original: `raw ${i}`,
        };
    },
  };

  async function run(sinks: MemorySink[], over: Partial<Pipeline> = {}) {
    const p = testPipeline({ parser: drafts, sinks }, over);
    await runBatch({ source: 's', items: items('x', 'y') }, p);
    return sinks.map((s) => s.writes.flat());
  }

  it('hands text-only sinks SerializedEvents whose text, fields and original are the events own', async () => {
    const [asObjects] = await run([new MemorySink()]);
    const [asText] = await run([new TextSink()]);
    expect(asObjects!.every((e) => e instanceof FinalEvent)).toBe(true);
    expect(asText!.every((e) => e instanceof SerializedEvent)).toBe(true);
    expect(asText!.map((e) => serializedDoc(e))).toEqual(asObjects!.map((e) => serializedDoc(e)));
    expect(asText!.map((e) => serializedDoc(e))).toEqual(asObjects!.map((e) => JSON.stringify(e.doc)));
    expect(asText!.map((e) => [e.id, e.dataset, e.timestamp, e.origin, e.original])).toEqual(
      asObjects!.map((e) => [e.id, e.dataset, e.timestamp, e.origin, e.original]),
    );
    // A reader of `doc` still gets the document, parsed back from the text.
    expect(asText!.map((e) => e.doc)).toEqual(asObjects!.map((e) => e.doc));
  });

  it('keeps objects when one sink of the route reads them, or rules run that see whole chunks', async () => {
    const [text, objects] = await run([new TextSink('a'), new MemorySink('b')]);
    expect([...text!, ...objects!].every((e) => e instanceof FinalEvent)).toBe(true);
    const detector: Detector = { inspect: async () => {}, close: async () => {} };
    const [withRules] = await run([new TextSink()], { detector });
    expect(withRules!.every((e) => e instanceof FinalEvent)).toBe(true);
  });

  it('delivers every event when seeing one fails, and logs the failed detection once the chunk is inspected', async () => {
    const inspected: number[] = [];
    const detector: Detector = {
      inspect: async () => {},
      start: () => {
        let since = 0;
        return {
          see: (ev) => {
            if (ev.doc.n === 1) throw new TypeError('bug in a rule');
            since++;
          },
          inspect: async () => {
            inspected.push(since);
            since = 0;
          },
        };
      },
      close: async () => {},
    };
    const sink = new TextSink();
    const log = memoryLogger();
    const p = testPipeline({ parser: drafts, sinks: [sink] }, { detector, log });
    const res = await runBatch({ source: 's', items: items('x', 'y') }, p);
    expect(res.items.map((i) => i.status)).toEqual(['delivered', 'delivered']);
    expect(sink.writes.flat()).toHaveLength(6);
    // The events seen were still inspected; the failure is logged, not thrown into delivery.
    expect(inspected).toEqual([4]);
    expect(log.entries.filter((e) => e.msg.startsWith('detection failed'))).toEqual([
      expect.objectContaining({ level: 'error', msg: 'detection failed: TypeError: bug in a rule' }),
    ]);
  });

  it('lets rules that see events one at a time see each as objects, then keeps it as text', async () => {
    // What a detector sees, and when: events as it is shown them, and each inspect of what it saw.
    const log: string[] = [];
    const chunks: number[] = [];
    let inspectedWhole = 0;
    const detector: Detector = {
      inspect: async () => {
        inspectedWhole++;
      },
      start: () => {
        let since = 0;
        return {
          see: (ev) => {
            expect(ev).toBeInstanceOf(FinalEvent);
            log.push(`${String(ev.doc.note)}/${String(ev.doc.n)}`);
            since++;
          },
          inspect: async () => {
            chunks.push(since);
            since = 0;
          },
        };
      },
      close: async () => {},
    };
    const sink = new TextSink();
    const p = testPipeline(
      { parser: drafts, sinks: [sink] },
      { detector, delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 4 } },
    );
    await runBatch({ source: 's', items: items('x', 'y') }, p);
    expect(log).toEqual(['é a0/0', 'é a0/1', 'é a0/2', 'é a1/0', 'é a1/1', 'é a1/2']);
    // One inspect where each chunk of 4 is written, of the events seen since the last.
    expect(chunks).toEqual([4, 2]);
    expect(inspectedWhole).toBe(0);
    expect(sink.writes.flat().every((e) => e instanceof SerializedEvent)).toBe(true);
    // With a sink that reads objects, the whole-chunk inspect runs as before.
    const objects = new MemorySink();
    await runBatch(
      { source: 's', items: items('z') },
      testPipeline({ parser: drafts, sinks: [objects] }, { detector }),
    );
    expect(inspectedWhole).toBe(1);
    expect(objects.writes.flat().every((e) => e instanceof FinalEvent)).toBe(true);
  });
});
