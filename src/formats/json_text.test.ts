import { describe, expect, it } from 'vitest';
import {
  braces,
  jsonNumber,
  memberKey,
  optNumber,
  optString,
  optStrings,
  quote,
  stringArray,
} from './json_text.js';

describe('JSON text pieces', () => {
  it('quotes every UTF-16 code unit, alone and amid text, as JSON.stringify does', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      expect(quote(ch)).toBe(JSON.stringify(ch));
      expect(quote(`a${ch}b`)).toBe(JSON.stringify(`a${ch}b`));
    }
    for (const s of ['', 'plain', '\ud83d\ude00', '\ude00\ud83d', 'x'.repeat(100_000), '\u2028\u2029'])
      expect(quote(s)).toBe(JSON.stringify(s));
  });

  it('writes numbers as JSON.stringify does, null for what JSON cannot hold', () => {
    for (const n of [
      0,
      -0,
      1,
      -1,
      0.1,
      1e21,
      1e-7,
      123456789.123,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      NaN,
      Infinity,
      -Infinity,
    ])
      expect(jsonNumber(n)).toBe(JSON.stringify(n));
  });

  it('leaves undefined members out and writes {} when all are', () => {
    const k = memberKey('a"b');
    const v = { 'a"b': 'x', n: undefined as number | undefined, l: ['p', 'q"'] };
    const text = braces(
      optString(k, v['a"b']) + optNumber(memberKey('n'), v.n) + optStrings(memberKey('l'), v.l),
    );
    expect(text).toBe(JSON.stringify(v));
    expect(braces(optString(k, undefined) + optNumber(k, undefined) + optStrings(k, undefined))).toBe('{}');
    for (const a of [[], ['one'], ['a', 'b', 'c\n']]) expect(stringArray(a)).toBe(JSON.stringify(a));
  });
});
