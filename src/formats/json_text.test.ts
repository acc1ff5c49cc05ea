import { describe, expect, it } from 'vitest';
import {
  BlockText,
  braces,
  jsonNumber,
  memberKey,
  NumberMember,
  optNumber,
  optString,
  quote,
  StringMember,
  StringsMember,
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
      optString(k, v['a"b']) + optNumber(memberKey('n'), v.n) + memberKey('l') + stringArray(v.l),
    );
    expect(text).toBe(JSON.stringify(v));
    expect(braces(optString(k, undefined) + optNumber(k, undefined))).toBe('{}');
    for (const a of [[], ['one'], ['a', 'b', 'c\n']]) expect(stringArray(a)).toBe(JSON.stringify(a));
  });
});

describe('remembered members', () => {
  it('write each value as it is now, not as it was the time before', () => {
    const s = new StringMember(memberKey('s'));
    const n = new NumberMember(memberKey('n'));
    const l = new StringsMember(memberKey('l'));
    const b = new BlockText((a: string, x: number | undefined) => `${a}|${x}`);
    const seq: [string | undefined, number | undefined, string[] | undefined][] = [
      ['a', 1, ['x']],
      ['a', 1, ['x', 'y']],
      ['b"', -0, ['x', 'z']],
      [undefined, Number.NaN, undefined],
      ['b"', 0, ['x', 'z']],
      ['a', 2, ['x']],
    ];
    for (const [sv, nv, lv] of seq) {
      expect(braces(s.of(sv) + n.of(nv) + l.of(lv))).toBe(JSON.stringify({ s: sv, n: nv, l: lv }));
      expect(b.of(sv ?? '', nv, undefined)).toBe(`${sv ?? ''}|${nv}`);
    }
  });

  it('is not fooled by an array changed after it was written', () => {
    const l = new StringsMember(memberKey('l'));
    const list = ['x'];
    expect(l.of(list)).toBe(',"l":["x"]');
    list[0] = 'y';
    expect(l.of(['y'])).toBe(',"l":["y"]');
  });
});
