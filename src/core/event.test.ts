import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { DailyFilesSink } from '../sinks/daily_files/index.js';
import { dailyFilesSinkSchema } from '../sinks/daily_files/schema.js';
import { StdoutSink } from '../sinks/stdout/index.js';
import { MemorySink, testPipeline } from '../testing/memory.js';
import type { Parser } from './component.js';
import { type EventDraft, eventIsoTime, SerializedEvent, serializedDoc } from './event.js';
import { finalizeEvent, runBatch } from './pipeline.js';

/** A doc whose serialization is counted: JSON.stringify calls toJSON once per serialization. */
function countedDoc(counter: { n: number }): Record<string, unknown> {
  const toJSON = () => {
    counter.n++;
    return { name: 'alice' };
  };
  return { user: { name: 'alice', toJSON } };
}

const origin = { source: 's', type: 'test', ref: 'test/0' };

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

describe('serializedDoc', () => {
  it('builds the JSON once and gives the same text as JSON.stringify', () => {
    const counter = { n: 0 };
    const ev = finalizeEvent({ dataset: 'd', timestamp: 0, doc: countedDoc(counter), idParts: [1] }, origin);
    const first = serializedDoc(ev);
    expect(serializedDoc(ev)).toBe(first);
    expect(counter.n).toBe(1);
    expect(JSON.parse(first)).toEqual(JSON.parse(JSON.stringify(ev.doc)));
  });

  it('stays out of JSON, spreads and equality, and follows a replaced doc', () => {
    const ev = finalizeEvent({ dataset: 'd', timestamp: 0, doc: { a: 1 }, idParts: [1] }, origin);
    serializedDoc(ev);
    expect(Object.keys(ev)).toEqual(['id', 'dataset', 'timestamp', 'doc', 'origin']);
    expect(JSON.parse(JSON.stringify(ev))).toEqual({ ...ev, doc: { ...ev.doc } });
    const copy = { ...ev, doc: { ...ev.doc, a: 2 } };
    expect(JSON.parse(serializedDoc(copy)).a).toBe(2);
    expect(JSON.parse(serializedDoc(ev)).a).toBe(1);
  });

  it('is shared by every sink of a batch: one serialization per event, not one per sink', async () => {
    const counter = { n: 0 };
    const parser: Parser = {
      name: 'counted',
      *parse(): Iterable<EventDraft> {
        for (let i = 0; i < 3; i++)
          yield { dataset: 'd', timestamp: 1_700_000_000_000, doc: countedDoc(counter), idParts: [i] };
      },
    };
    const dir = await mkdtemp(join(tmpdir(), 'logferry-serialize-'));
    try {
      const a = new PassThrough();
      const b = new PassThrough();
      const textA = collect(a);
      const textB = collect(b);
      const daily = new DailyFilesSink(
        dailyFilesSinkSchema.parse({ name: 'daily', type: 'daily_files', path: dir }),
      );
      const sinks = [
        new StdoutSink('a', 'doc', a),
        new StdoutSink('b', 'envelope', b),
        daily,
        new MemorySink(),
      ];
      const res = await runBatch(
        { source: 's', items: [{ ackId: 'x', origin, body: { kind: 'bytes', bytes: Buffer.from('') } }] },
        testPipeline({ parser, sinks }),
      );
      await daily.close();
      expect(res.events).toBe(3);
      expect(counter.n).toBe(3);
      const docs = textA().trim().split('\n');
      expect(docs.map((l) => JSON.parse(l).user)).toEqual([
        { name: 'alice' },
        { name: 'alice' },
        { name: 'alice' },
      ]);
      expect(
        textB()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).doc.event.id),
      ).toHaveLength(3);
      const [day] = await readdir(join(dir, 'd'));
      expect((await readFile(join(dir, 'd', day!), 'utf8')).trim().split('\n')).toEqual(docs);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SerializedEvent (decoded in a worker)', () => {
  const origin = { source: 'central', type: 'kinesis', ref: 'central-logging/shard/1' };
  const json = '{"@timestamp":"2026-11-25T08:00:00.000Z","message":"hi","event":{"id":"e1","dataset":"app"}}';

  it('gives sinks its JSON text as it came, and parses the doc only when read', () => {
    const ev = new SerializedEvent('e1', 'app', Date.UTC(2026, 10, 25, 8), json, origin);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(serializedDoc(ev)).toBe(json);
      expect(eventIsoTime(ev)).toBe('2026-11-25T08:00:00.000Z');
      expect(parse).not.toHaveBeenCalled();
      expect(ev.doc.message).toBe('hi');
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('reads @timestamp as the last member too (Duo documents) without parsing, and parses where it cannot tell', () => {
    const at = (text: string) => eventIsoTime(new SerializedEvent('e1', 'duo', 0, text, origin));
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expect(
        at('{"event":{"id":"e1"},"duo":{"txid":"a\\"}\\""},"@timestamp":"2026-11-25T08:00:00.000Z"}'),
      ).toBe('2026-11-25T08:00:00.000Z');
      expect(parse).not.toHaveBeenCalled();
      // Another @timestamp inside, after or before the document's own: the document's own every time,
      // read from the text; only a value with an escape is parsed.
      const cases = [
        '{"@timestamp":"2026-11-25T08:00:00.000Z","duo":{"a":1,"@timestamp":"1999-01-01T00:00:00.000Z"}}',
        '{"duo":{"a":1,"@timestamp":"1999-01-01T00:00:00.000Z"},"@timestamp":"2026-11-25T08:00:00.000Z"}',
        '{"@timestamp":"2026-11-25T08:00:00.000Z","duo":{"@timestamp":"1999-01-01T00:00:00.000Z","x":"y"}}',
        '{"@timestamp":"2026-11-25T08:00:00.000Z","x":"1999-01-01T00:00:00.000Z"}',
        '{"duo":1,"@timestamp":"2026\\u002d11-25T08:00:00.000Z"}',
        '{"@timestamp":"2026\\u002d11-25T08:00:00.000Z","duo":1}',
      ];
      for (const text of cases) expect(at(text), text).toBe('2026-11-25T08:00:00.000Z');
      expect(parse).toHaveBeenCalledTimes(2);
    } finally {
      parse.mockRestore();
    }
  });

  it('looks like a plain LogEvent to JSON (dead letters), and a doc put in its place is what sinks get', () => {
    const ev = new SerializedEvent('e1', 'app', 1, json, origin);
    expect(JSON.parse(JSON.stringify(ev))).toEqual({
      id: 'e1',
      dataset: 'app',
      timestamp: 1,
      doc: JSON.parse(json),
      origin,
    });
    ev.doc = { '@timestamp': '2026-11-26T00:00:00.000Z', message: 'redacted' };
    expect(serializedDoc(ev)).toBe('{"@timestamp":"2026-11-26T00:00:00.000Z","message":"redacted"}');
    expect(eventIsoTime(ev)).toBe('2026-11-26T00:00:00.000Z');
  });
});
