import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LimitError, ParseError } from './errors.js';
import { decodeBase64, gunzipCapped, isGzip } from './limits.js';

describe('limits', () => {
  it('refuses text that is not base64 instead of decoding garbage', () => {
    expect(() => decodeBase64('abc!', 'data')).toThrow(ParseError);
    expect(() => decodeBase64('abc', 'data')).toThrow('data is not base64');
    expect(decodeBase64('aGk=').toString()).toBe('hi');
  });

  it('caps inflation and calls a bomb a LimitError', () => {
    const bomb = gzipSync(Buffer.alloc(10_000_000));
    expect(bomb.length).toBeLessThan(20_000);
    expect(() => gunzipCapped(bomb, 1_000_000)).toThrow(LimitError);
    expect(gunzipCapped(gzipSync('ok'), 10).toString()).toBe('ok');
  });

  it('inflates whole whatever size the gzip trailer claims, and keeps the cap', () => {
    const text = 'log line ü\n'.repeat(50_000);
    const gz = gzipSync(text);
    const lying = (isize: number) => {
      const copy = Buffer.from(gz);
      copy.writeUInt32LE(isize, copy.length - 4);
      return copy;
    };
    // The trailer's size is only a hint for the output buffer: zlib checks the CRC, not ISIZE.
    for (const isize of [0, 1, 16 * 1024, Buffer.byteLength(text) - 1, 0xffff_ffff])
      expect(() => gunzipCapped(lying(isize), 1 << 30)).toThrow(ParseError);
    expect(gunzipCapped(gz, 1 << 30).toString()).toBe(text);
    // Two members back to back: the trailer gives the second one's size.
    const two = Buffer.concat([gzipSync('a'.repeat(100_000)), gzipSync('b')]);
    expect(gunzipCapped(two, 1 << 30).toString()).toBe(`${'a'.repeat(100_000)}b`);
    expect(() => gunzipCapped(gz, Buffer.byteLength(text) - 1)).toThrow(LimitError);
    expect(gunzipCapped(gz, Buffer.byteLength(text)).length).toBe(Buffer.byteLength(text));
  });

  it('tells truncated gzip from not-gzip', () => {
    const gz = gzipSync(Buffer.from('x'.repeat(1000)));
    expect(isGzip(gz)).toBe(true);
    expect(() => gunzipCapped(gz.subarray(0, gz.length - 10), 1e6, 'rec')).toThrow(
      /rec: gzip stream is truncated/,
    );
    expect(() => gunzipCapped(Buffer.from('plain'), 1e6, 'rec')).toThrow(/rec: not valid gzip/);
  });
});
