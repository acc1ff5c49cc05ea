import { describe, expect, it } from 'vitest';
import { isoTime } from './time.js';

describe('isoTime', () => {
  it('writes what Date#toISOString writes, across seconds, signs, fractions and far years', () => {
    const samples = [
      0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1_764_000_000_000, 1_764_000_000_007, 1_764_000_000_999,
      1_764_000_001_000, 1_764_000_000_500.9, -1, -0.5, -1.5, -999, -1000, -1001, -62_198_755_200_001,
      253_402_300_799_999, 253_402_300_800_000, 8.64e15, -8.64e15, -0,
    ];
    for (const ms of samples) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('does not reuse the cached second for a different one', () => {
    expect(isoTime(1_764_000_000_123)).toBe('2025-11-24T16:00:00.123Z');
    expect(isoTime(1_764_000_060_123)).toBe('2025-11-24T16:01:00.123Z');
    expect(isoTime(1_764_000_000_001)).toBe('2025-11-24T16:00:00.001Z');
  });

  it('refuses times a Date cannot hold, as Date does', () => {
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
  });
});
