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

  it('tells truncated gzip from not-gzip', () => {
    const gz = gzipSync(Buffer.from('x'.repeat(1000)));
    expect(isGzip(gz)).toBe(true);
    expect(() => gunzipCapped(gz.subarray(0, gz.length - 10), 1e6, 'rec')).toThrow(
      /rec: gzip stream is truncated/,
    );
    expect(() => gunzipCapped(Buffer.from('plain'), 1e6, 'rec')).toThrow(/rec: not valid gzip/);
  });
});
