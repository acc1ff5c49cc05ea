/** Largest distance from the epoch a Date can hold, in milliseconds (ECMA-262 TimeClip). */
const MAX_TIME = 8.64e15;

// Events come in time order, many to the second: the text up to the second is built once per
// second (one Date) and each event only appends its milliseconds.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * The same text as `new Date(ms).toISOString()` (fractions of a millisecond dropped, RangeError
 * past the Date range), without a Date per call.
 */
export function isoTime(ms: number): string {
  const t = Math.trunc(ms);
  if (!(Math.abs(t) <= MAX_TIME)) return new Date(t).toISOString();
  const second = Math.floor(t / 1000);
  if (second !== cachedSecond) {
    const full = new Date(second * 1000).toISOString();
    cachedPrefix = full.slice(0, full.length - 4);
    cachedSecond = second;
  }
  const milli = t - second * 1000;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
