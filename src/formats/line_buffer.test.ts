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
