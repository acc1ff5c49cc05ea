import { describe, expect, it } from 'vitest';
import { ParseError } from '../core/errors.js';
import { ConcatenatedJsonScanner, type ScannedObject } from './json_stream.js';

function scan(text: string, chunk: number, max = 1_000_000): ScannedObject[] {
  const s = new ConcatenatedJsonScanner(max);
  const out: ScannedObject[] = [];
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk), out);
  s.end();
  return out;
}

describe('ConcatenatedJsonScanner', () => {
  const objects = [
    { a: 'he said "}{" \\ and \\"', n: [1, { b: '}' }] },
    { messageType: 'DATA_MESSAGE', logEvents: [{ message: '{"nested":"json"}\\\\' }] },
    { unicode: 'é ü 日本' },
  ];
  const text = `${JSON.stringify(objects[0])}${JSON.stringify(objects[1])}\n  ${JSON.stringify(objects[2])}\n`;

  it('cuts objects written back to back, whatever the chunk boundaries', () => {
    for (const chunk of [1, 2, 3, 7, 1000]) {
      const found = scan(text, chunk);
      expect(found.map((o) => JSON.parse(o.bytes!.toString()))).toEqual(objects);
      expect(found.map((o) => o.offset)).toEqual([
        0,
        JSON.stringify(objects[0]).length,
        Buffer.byteLength(`${JSON.stringify(objects[0])}${JSON.stringify(objects[1])}\n  `),
      ]);
    }
  });

  it('counts an object over the limit without keeping it, and goes on', () => {
    const big = JSON.stringify({ pad: 'x'.repeat(500) });
    const found = scan(`${big}{"small":1}`, 64, 100);
    expect(found.map((o) => [o.bytes?.toString(), o.size])).toEqual([
      [undefined, big.length],
      ['{"small":1}', 11],
    ]);
  });

  it('refuses what is not objects back to back, naming the byte', () => {
    expect(() => scan('{"a":1} garbage', 4)).toThrow(/'g' outside any object at uncompressed byte 8$/);
    expect(() => scan('[1,2]', 4)).toThrow(
      /a JSON array where an object was expected at uncompressed byte 0/,
    );
    const cut = () => scan('{"a":1}{"b":"unfinished', 5);
    expect(cut).toThrow(ParseError);
    expect(cut).toThrow(/truncated: object 1 starting at uncompressed byte 7 never ends/);
  });
});
