import { describe, expect, it } from 'vitest';
import { LineBuffer, LineBufferPool } from './line_buffer.js';

describe('LineBuffer', () => {
  it('encodes lines as Buffer.from does, across growth, multibyte text and lone surrogates', () => {
    const lines = [
      'plain',
      'é ü ß',
      '日本語',
      '😀 pair',
      'lone \ud800 high',
      'lone \udc00 low',
      'x'.repeat(200_000),
    ];
    const b = new LineBuffer();
    for (const l of lines) b.add(l);
    b.add('no newline', false);
    expect(b.bytes().equals(Buffer.from(`${lines.join('\n')}\nno newline`))).toBe(true);
    expect(b.capacity).toBeGreaterThan(1 << 16);
  });

  it('owns its ArrayBuffer (never the shared pool), so it can be transferred to another thread', () => {
    const b = new LineBuffer();
    b.add('a');
    expect(b.bytes().byteOffset).toBe(0);
    expect(b.bytes().buffer.byteLength).toBe(b.capacity);
    b.add('y'.repeat(100_000));
    expect(b.bytes().byteOffset).toBe(0);
    expect(b.bytes().buffer.byteLength).toBe(b.capacity);
  });

  it('starts in a buffer given back, from its start', () => {
    const reused = Buffer.alloc(1 << 16, 0x41);
    const b = new LineBuffer(reused);
    b.add('hi');
    expect(b.bytes().toString()).toBe('hi\n');
    expect(b.bytes().buffer).toBe(reused.buffer);
  });
});

describe('LineBufferPool', () => {
  it('hands back the buffer it was given, emptied, and lets a huge one go', () => {
    const pool = new LineBufferPool(1 << 17);
    const a = pool.take();
    a.add('first');
    pool.give(a);
    const again = pool.take();
    expect(again).toBe(a);
    expect(again.size).toBe(0);
    // Taken while the first is out: a write that overlaps gets its own.
    expect(pool.take()).not.toBe(again);
    again.add('z'.repeat(1 << 17));
    pool.give(again);
    expect(pool.take()).not.toBe(again);
  });
});

describe('LineBuffer.addBytes and a pool that keeps two', () => {
  it('joins chunks as Buffer.concat does, across growth', () => {
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.from(`chunk ${i} ${'é'.repeat(i * 500)}|`));
    const b = new LineBuffer();
    for (const c of chunks) b.addBytes(c);
    expect(b.bytes().equals(Buffer.concat(chunks))).toBe(true);
  });

  it('keeps as many buffers as reads overlap, and no more', () => {
    const pool = new LineBufferPool(1 << 20, 2);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    expect(new Set([a, b, c]).size).toBe(3);
    pool.give(a);
    pool.give(b);
    pool.give(c);
    const again = [pool.take(), pool.take(), pool.take()];
    expect(again.filter((x) => x === a || x === b)).toHaveLength(2);
    expect(again).not.toContain(c);
  });
});
