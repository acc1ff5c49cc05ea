import { describe, expect, it } from 'vitest';
import { finalizeEvent } from '../../core/pipeline.js';
import { buildChunks, indexNamer, patternToGlob, splitChunk } from './request.js';
import { openSearchSinkSchema } from './schema.js';

const ev = (dataset: string, iso: string, n: number, pad = 0) =>
  finalizeEvent(
    { dataset, timestamp: Date.parse(iso), doc: { n, pad: 'x'.repeat(pad) }, idParts: [n] },
    { source: 's', type: 't', ref: 'r' },
  );

describe('index names', () => {
  it('fills dataset and UTC date parts from the event', () => {
    const name = indexNamer('logs-{dataset}-{yyyy.MM.dd}');
    expect(name(ev('aws.cloudtrail', '2026-11-24T23:59:59.999Z', 1))).toBe('logs-aws.cloudtrail-2026.11.24');
    expect(name(ev('Duo Auth', '2026-11-25T00:00:00Z', 2))).toBe('logs-duo_auth-2026.11.25');
    expect(indexNamer('{dataset}-{yyyy.MM}-{HH}')(ev('d', '2026-01-02T03:04:05Z', 1))).toBe('d-2026.01-03');
    expect(indexNamer('logs-{dataset}')(ev('a', '2026-01-02T03:04:05Z', 1))).toBe('logs-a');
  });

  it('keeps the dataset one part of the name through the shared sanitizer', () => {
    const name = indexNamer('logs-{dataset}-{yyyy.MM.dd}');
    expect(name(ev('../../x/Y', '2026-11-25T00:00:00Z', 1))).toBe('logs-.._.._x_y-2026.11.25');
    expect(() => indexNamer('{dataset}')(ev('..', '2026-11-25T00:00:00Z', 1))).toThrow(
      'dataset ".." cannot be used as a name',
    );
  });

  it('turns a pattern into the template glob', () => {
    expect(patternToGlob('logs-{dataset}-{yyyy.MM.dd}')).toBe('logs-*-*');
    expect(patternToGlob('logs-{dataset}')).toBe('logs-*');
  });
});

describe('bulk bodies', () => {
  const opts = { op: 'create' as const, documentId: true, maxBytes: 2000, maxDocs: 3, indexOf: () => 'logs' };

  it('sets aside an event that can have no index name and frames the others', () => {
    const events = [ev('a', '2026-11-25T00:00:00Z', 1), ev('.', '2026-11-25T00:00:00Z', 2)];
    const { chunks, unnamed } = buildChunks(events, [0, 1], { ...opts, indexOf: indexNamer('{dataset}') });
    expect(chunks.map((c) => c.events)).toEqual([[0]]);
    expect(unnamed.map((u) => [u.index, u.error.message])).toEqual([
      [1, 'dataset "." cannot be used as a name'],
    ]);
  });

  it('frames action and source lines with a final newline and the event id', () => {
    const e = ev('d', '2026-11-25T00:00:00Z', 1);
    const { chunks } = buildChunks([e], [0], opts);
    expect(chunks[0]!.body).toBe(`{"create":{"_index":"logs","_id":"${e.id}"}}\n${JSON.stringify(e.doc)}\n`);
    expect(chunks[0]!.bytes).toBe(Buffer.byteLength(chunks[0]!.body));
  });

  it('cuts by count and by bytes, and sets aside a document over the byte limit', () => {
    const events = [0, 1, 2, 3, 4].map((n) => ev('d', '2026-11-25T00:00:00Z', n, n === 4 ? 5000 : 400));
    const { chunks, oversize } = buildChunks(events, [0, 1, 2, 3, 4], opts);
    expect(chunks.map((c) => c.events)).toEqual([[0, 1, 2], [3]]);
    expect(chunks.every((c) => c.bytes <= 2000)).toBe(true);
    expect(oversize.map((o) => o.index)).toEqual([4]);
    const byBytes = buildChunks(events.slice(0, 4), [0, 1, 2, 3], { ...opts, maxBytes: 1200, maxDocs: 100 });
    expect(byBytes.chunks.map((c) => c.events)).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('splits a body in two valid halves', () => {
    const events = [0, 1, 2].map((n) => ev('d', '2026-11-25T00:00:00Z', n));
    const [a, b] = splitChunk(buildChunks(events, [0, 1, 2], opts).chunks[0]!);
    expect(a.events).toEqual([0, 1]);
    expect(b.events).toEqual([2]);
    expect(a.body.split('\n')).toHaveLength(5);
    expect(b.body.endsWith('}\n')).toBe(true);
    expect(a.bytes + b.bytes).toBe(buildChunks(events, [0, 1, 2], opts).chunks[0]!.bytes);
  });
});

describe('index pattern in the config', () => {
  const parse = (index: string) =>
    openSearchSinkSchema.safeParse({
      name: 's',
      type: 'opensearch',
      endpoint: 'https://search.example.com',
      index,
    });
  it('takes date parts in braces and refuses names a cluster would refuse', () => {
    expect(parse('logs-{dataset}-{yyyy.MM.dd}').success).toBe(true);
    expect(parse('Logs-{dataset}').error?.issues[0]?.message).toMatch(/^not an index name — write lowercase/);
    expect(parse('logs {dataset}').success).toBe(false);
  });
});
