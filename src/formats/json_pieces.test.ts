import { describe, expect, it } from 'vitest';
import { rng, subscriptionMessage } from '../demo/cwlogs.js';
import { fitsOneString, parseObjectInPieces } from './json_pieces.js';

const r = rng(42);
const message = (count: number) =>
  subscriptionMessage({ kind: 'app', count, start: 1_764_000_000_000, r }) as unknown as Record<
    string,
    unknown
  >;

/** What parseObjectInPieces gives, checked against JSON.parse of the same text. */
function same(text: string) {
  const got = parseObjectInPieces(Buffer.from(text), 'logEvents');
  expect(got).toEqual(JSON.parse(text));
  return got;
}

describe('parseObjectInPieces', () => {
  it('gives what JSON.parse gives for subscription messages, compact or pretty-printed', () => {
    const msg = message(500);
    const text = JSON.stringify(msg);
    // Big enough to be cut into pieces.
    expect(text.length).toBeGreaterThan(3 * 48 * 1024);
    const got = same(text);
    expect((got!.logEvents as unknown[]).length).toBe(500);
    same(JSON.stringify(msg, null, 2));
    same(JSON.stringify(msg, null, '\t').replaceAll('\n', '\r\n'));
    const { logEvents, ...rest } = msg;
    same(JSON.stringify({ logEvents }));
    same(JSON.stringify({ ...rest, logEvents: [] }));
    same(' { "logEvents" : [ ] } \n');
    // The array elsewhere than last is not what this reads: JSON.parse reads it.
    expect(
      parseObjectInPieces(Buffer.from(JSON.stringify({ logEvents, ...rest })), 'logEvents'),
    ).toBeUndefined();
  });

  it('keeps escapes, non-ASCII text and nesting inside the elements as JSON.parse reads them', () => {
    const events = [
      { id: '1', timestamp: 1, message: 'quote " backslash \\ end\\' },
      { id: '2', timestamp: 2, message: '{"nested":{"a":[1,{"b":"]}"}]}}' },
      { id: '3', timestamp: 3, message: 'ünïcödé ☃ 😀 \u2028 \u0000 \u001f' },
      { id: '4', timestamp: -1.5e-7, message: '' },
      [1, [2, [3]], { x: null, y: true, z: false }],
      'a string element',
      12.5,
      null,
    ];
    const many = Array.from({ length: 4000 }, (_, k) => events[k % events.length]);
    same(JSON.stringify({ owner: 'o', other: { k: [events[1]] }, logEvents: many }));
    // Escapes JSON.stringify never writes, which JSON.parse reads all the same.
    same('{"k":"\\u00e9","logEvents":[{"message":"\\u0041\\/\\b\\f\\n\\r\\t\\"\\\\"}]}');
  });

  it('cut inside a message that ends like the gap between two events, gives up or agrees', () => {
    // `"…},{"`: the bytes between two events, closing a string. A cut there gives pieces that do
    // not parse: the caller then parses the text whole.
    const events = Array.from({ length: 3000 }, (_, k) => ({
      id: `${k}`,
      timestamp: k,
      message: `m${k}},{`,
    }));
    const text = JSON.stringify({ owner: 'o', logEvents: events });
    // Small pieces: the first `},{"` past each cut point is the one inside the next message.
    expect(parseObjectInPieces(Buffer.from(text), 'logEvents', 10)).toBeUndefined();
    const got = parseObjectInPieces(Buffer.from(text), 'logEvents');
    if (got !== undefined) expect(got).toEqual(JSON.parse(text));
  });

  it('declines what is not the plain shape, leaving the error to JSON.parse', () => {
    const declined = [
      '',
      '[]',
      '"logEvents"',
      '{}',
      '{"owner":"o"}',
      '\ufeff{"logEvents":[]}',
      '{"logEvents":{}}',
      '{"logEvents":[1 2]}',
      '{"logEvents":[1,]}',
      '{"logEvents":[,1]}',
      '{"logEvents":[1],}',
      '{"logEvents":[1]} x',
      '{"logEvents":[1]}{"logEvents":[2]}',
      '{"logEvents":[{"a":1}',
      '{"logEvents":["open string]}',
      '{"logEvents" [1]}',
      '{logEvents:[1]}',
      '{"logEvents":[tru]}',
      '{"a":01,"logEvents":[1]}',
      '{"logEvents":[{"a":1}}]}',
      // The member twice (JSON.parse keeps the last), even spelled with an escape.
      '{"logEvents":[1],"logEvents":[2]}',
      '{"logEvents":[1],"log\\u0045vents":[2]}',
      '{"log\\u0045vents":[2],"logEvents":[1]}',
      '{"owner":"a","owner":"b","logEvents":[1]}',
      '{"logEvents":[1],"owner":"o"}',
      '{"logEvents":[1],"x":[2]}',
    ];
    for (const text of declined)
      expect(parseObjectInPieces(Buffer.from(text), 'logEvents'), text).toBeUndefined();
  });

  it('never returns what JSON.parse would not: thousands of damaged messages, cut every few bytes', () => {
    const { logEvents, ...rest } = message(4);
    const base = JSON.stringify({ ...rest, more: { a: [1, '}', '\\"', '},{"'] }, logEvents });
    const pick = rng(7);
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '0', 'e', '-', 'x', 'é', '},{"'];
    let accepted = 0;
    let damaged = 0;
    for (let n = 0; n < 5000; n++) {
      let text = base;
      for (let edits = 1 + Math.floor(pick() * 3); edits > 0; edits--) {
        const at = Math.floor(pick() * text.length);
        const what = Math.floor(pick() * 4);
        if (what === 0) text = text.slice(0, at) + text.slice(at + 1);
        else if (what === 1)
          text = text.slice(0, at) + alphabet[Math.floor(pick() * alphabet.length)] + text.slice(at);
        else if (what === 2) text = text.slice(0, at);
        else text = text.slice(0, at) + ' \t'.repeat(1 + Math.floor(pick() * 2)) + text.slice(at);
      }
      let expected: unknown;
      let valid = true;
      try {
        expected = JSON.parse(text);
      } catch {
        valid = false;
        damaged++;
      }
      // Pieces of a few bytes: every gap between events is a cut.
      const got = parseObjectInPieces(Buffer.from(text), 'logEvents', 1 + Math.floor(pick() * 64));
      if (got === undefined) continue;
      accepted++;
      expect(valid, text).toBe(true);
      expect(got, text).toEqual(expected);
    }
    // Both kinds were made: texts JSON.parse rejects, and texts both accept.
    expect(damaged).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('fitsOneString', () => {
  it('tells text V8 keeps in its young generation from text it maps on its own', () => {
    expect(fitsOneString(Buffer.alloc(1000, 'a'))).toBe(true);
    expect(fitsOneString(Buffer.alloc(120 * 1024, 'a'))).toBe(true);
    expect(fitsOneString(Buffer.alloc(130 * 1024, 'a'))).toBe(false);
    // Not ASCII: a two-byte string, twice the size.
    const wide = Buffer.alloc(100 * 1024, 'a');
    wide.write('é', 500);
    expect(fitsOneString(wide)).toBe(false);
    expect(fitsOneString(wide.subarray(0, 60 * 1024))).toBe(true);
  });
});
