import { describe, expect, it } from 'vitest';
import { rng, subscriptionMessage } from '../demo/cwlogs.js';
import { authEvent } from '../demo/duo-events.js';
import { fitsOneString, parseListItems, parseObjectInPieces } from './json_pieces.js';

const r = rng(42);
const message = (count: number) =>
  subscriptionMessage({ kind: 'app', count, start: 1_764_000_000_000, r }) as unknown as Record<
    string,
    unknown
  >;
const LOG_EVENTS = ['logEvents'];

/** What parseObjectInPieces gives, checked against JSON.parse of the same text. */
function same(text: string, path = LOG_EVENTS, pieceBytes?: number) {
  const got = parseObjectInPieces(Buffer.from(text), path, pieceBytes);
  expect(got).toEqual(JSON.parse(text));
  return got;
}

/** Undefined, or what JSON.parse gives; undefined whenever JSON.parse throws. */
function agrees(text: string, path = LOG_EVENTS, pieceBytes?: number): boolean {
  const got = parseObjectInPieces(Buffer.from(text), path, pieceBytes);
  let expected: unknown;
  try {
    expected = JSON.parse(text);
  } catch {
    expect(got, text).toBeUndefined();
    return false;
  }
  if (got !== undefined) expect(got, text).toEqual(expected);
  return got !== undefined;
}

/** A JSON-ish alphabet for damage: structure, escapes, spaces, the gaps between events. */
const DAMAGE = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '0', 'e', '-', 'x', 'é', '},{"', '}, {"'];

/**
 * `count` damaged copies of `bases` (one to three deletions, insertions, cuts or runs of spaces
 * each), and how many of them JSON.parse rejects, so a test can check both kinds were made.
 */
function damagedTexts(
  bases: string[],
  count: number,
  pick: () => number,
): { texts: string[]; invalid: number } {
  const texts: string[] = [];
  let invalid = 0;
  for (let n = 0; n < count; n++) {
    let text = bases[n % bases.length]!;
    for (let edits = 1 + Math.floor(pick() * 3); edits > 0; edits--) {
      const at = Math.floor(pick() * text.length);
      const what = Math.floor(pick() * 4);
      if (what === 0) text = text.slice(0, at) + text.slice(at + 1);
      else if (what === 1)
        text = text.slice(0, at) + DAMAGE[Math.floor(pick() * DAMAGE.length)] + text.slice(at);
      else if (what === 2) text = text.slice(0, at);
      else text = text.slice(0, at) + ' \t'.repeat(1 + Math.floor(pick() * 2)) + text.slice(at);
    }
    try {
      JSON.parse(text);
    } catch {
      invalid++;
    }
    texts.push(text);
  }
  return { texts, invalid };
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
    same(JSON.stringify({ logEvents, ...rest }));
    same(JSON.stringify({ ...rest, logEvents: [] }));
    same(' { "logEvents" : [ ] } \n');
    same(JSON.stringify({ ...rest, logEvents }), LOG_EVENTS, 100);
  });

  it('reads the list of a Duo page, inside the response and before its metadata', () => {
    const authlogs = Array.from({ length: 400 }, (_, i) => authEvent(i, 1_764_000_000_000 + i, r));
    const page = {
      response: { authlogs, metadata: { next_offset: ['1764000000399', 'txid-399'], total_objects: 400 } },
      stat: 'OK',
    };
    const got = same(JSON.stringify(page), ['response', 'authlogs']);
    expect((got!.response as { authlogs: unknown[] }).authlogs).toHaveLength(400);
    same(JSON.stringify({ stat: 'OK', response: page.response }), ['response', 'authlogs'], 1000);
    // Administrator logs (v1): the response is the list.
    same(JSON.stringify({ stat: 'OK', response: authlogs }), ['response']);
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
    same(JSON.stringify({ logEvents: many, owner: 'o' }), LOG_EVENTS, 200);
    // Escapes JSON.stringify never writes, which JSON.parse reads all the same.
    same('{"k":"\\u00e9","logEvents":[{"message":"\\u0041\\/\\b\\f\\n\\r\\t\\"\\\\"}]}');
  });

  it('a cut inside a message that ends like the gap between two events gives up, or agrees', () => {
    // `"…},{"`: the bytes between two events, closing a string. A cut there gives pieces that do
    // not parse: the caller then parses the text whole.
    const events = Array.from({ length: 3000 }, (_, k) => ({
      id: `${k}`,
      timestamp: k,
      message: `m${k}},{`,
    }));
    const text = JSON.stringify({ owner: 'o', logEvents: events });
    // Small pieces: the first `},{"` past each cut point is the one inside the next message.
    expect(parseObjectInPieces(Buffer.from(text), LOG_EVENTS, 10)).toBeUndefined();
    agrees(text);
  });

  it('declines a list that is not the one JSON.parse keeps, and text that is not JSON', () => {
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
      '{"logEvents":[{"a":1},{"b":2}],"x":[{"c":3},{"d":4}]',
      // The member twice: JSON.parse keeps the last, here not the list read.
      '{"logEvents":[1],"logEvents":[2]}',
      '{"logEvents":[{"a":1},{"b":2}],"log\\u0045vents":[2]}',
    ];
    for (const text of declined)
      expect(parseObjectInPieces(Buffer.from(text), LOG_EVENTS, 1), text).toBeUndefined();
    // The member twice where the one read comes last: what JSON.parse keeps.
    same('{"log\\u0045vents":[2],"logEvents":[{"a":1},{"b":2}]}', LOG_EVENTS, 1);
    same('{"owner":"a","owner":"b","logEvents":[{"a":1},{"b":2}]}', LOG_EVENTS, 1);
    // A list of objects after the one read: its end is not found so; JSON.parse reads the text.
    expect(agrees('{"logEvents":[{"a":1},{"b":2}],"x":[{"c":3},{"d":4}]}', LOG_EVENTS, 1)).toBe(false);
  });

  it('never returns what JSON.parse would not: thousands of damaged messages, cut every few bytes', () => {
    const { logEvents, ...rest } = message(4);
    const bases = [
      JSON.stringify({ ...rest, more: { a: [1, '}', '\\"', '},{"'] }, logEvents }),
      JSON.stringify({ logEvents, ...rest, more: [{ a: 1 }, { b: '},{"' }] }),
    ];
    const pick = rng(7);
    const { texts, invalid } = damagedTexts(bases, 6000, pick);
    // Pieces of a few bytes: every gap between events is a cut.
    const accepted = texts.filter((text) => agrees(text, LOG_EVENTS, 1 + Math.floor(pick() * 64))).length;
    // Both kinds were made: texts JSON.parse rejects, and texts both accept.
    expect(invalid).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(200);
  });
});

/** What parseListItems gives: undefined, or JSON.parse's value with each object's own text. */
function items(text: string, path = LOG_EVENTS) {
  const got = parseListItems(Buffer.from(text), path);
  let expected: unknown;
  try {
    expected = JSON.parse(text);
  } catch {
    expect(got, text).toBeUndefined();
    return undefined;
  }
  if (got === undefined) return undefined;
  expect(got.value, text).toEqual(expected);
  let list: unknown = got.value;
  for (const k of path) list = (list as Record<string, unknown>)[k];
  expect(got.list).toBe(list);
  expect(got.texts.length).toBe(got.list.length);
  got.texts.forEach((t, i) => {
    if (t === undefined) return;
    // The object's own text, in place, one line: what it parses to is the object read.
    expect(text.includes(t), t).toBe(true);
    expect(t).not.toMatch(/[\r\n]/);
    expect(JSON.parse(t)).toEqual(got.list[i]);
  });
  return got;
}

describe('parseListItems', () => {
  it("gives JSON.parse's value and each object's text as written, compact or with Python's spaces", () => {
    const page = {
      response: {
        authlogs: Array.from({ length: 300 }, (_, i) => authEvent(i, 1_764_000_000_000 + i, r)),
        metadata: { next_offset: ['1764000000299', 'txid-299'] },
      },
      stat: 'OK',
    };
    const path = ['response', 'authlogs'];
    const compact = items(JSON.stringify(page), path)!;
    expect(compact.texts).toEqual(page.response.authlogs.map((e) => JSON.stringify(e)));
    // Python's json.dumps: `, ` and `: ` between members, so `}, {"` between events.
    const python = JSON.stringify(page).replace(/,"/g, ', "').replace(/":/g, '": ');
    const spaced = items(python, path)!;
    expect(spaced.texts.every((t) => t?.startsWith('{"access_device": {'))).toBe(true);
    // Pretty-printed: values still read, but no text is one line, so none is kept.
    const pretty = items(JSON.stringify(page, null, 2), path)!;
    expect(pretty.texts.every((t) => t === undefined)).toBe(true);
    // The first gap differs from the rest: read by structure from there on, texts the same.
    const mixed = JSON.stringify(page).replace(/\},\{"access/g, (m, at: number) =>
      at > 5000 ? '}, {"access' : m,
    );
    expect(items(mixed, path)!.texts).toEqual(compact.texts);
    expect(items('{"response":{"authlogs":[]},"stat":"OK"}', path)!.list).toEqual([]);
    expect(items('{"response":[ {"a":1} , {"b":"\\u00e9"} ]}', ['response'])!.texts).toEqual([
      '{"a":1}',
      '{"b":"\\u00e9"}',
    ]);
  });

  it('reads objects whose own text holds the gap between two of them (lists of objects, strings)', () => {
    const events = Array.from({ length: 50 }, (_, k) => ({
      id: k,
      agents: k % 3 ? [{ name: 'amp' }, { name: 'edr', v: '},{"' }] : [],
      note: k % 5 ? 'plain' : `ends like the gap},{`,
    }));
    const text = JSON.stringify({ logEvents: events });
    expect(items(text)!.texts).toEqual(events.map((e) => JSON.stringify(e)));
  });

  it('declines lists that are not objects separated by commas', () => {
    for (const text of [
      '{"logEvents":[1,2]}',
      '{"logEvents":["a"]}',
      '{"logEvents":[{"a":1},2]}',
      '{"logEvents":[{"a":1},]}',
      '{"logEvents":[{"a":1} {"b":2}]}',
      '{"logEvents":[{"a":1},,{"b":2}]}',
      '{"logEvents":[[{"a":1}]]}',
      '{"logEvents":{"a":1}}',
    ])
      expect(parseListItems(Buffer.from(text), LOG_EVENTS), text).toBeUndefined();
  });

  it('never returns what JSON.parse would not, nor a text that is not its object: thousands of damaged lists', () => {
    const { logEvents, ...rest } = message(6);
    const nested = (logEvents as object[]).map((e, k) => ({ ...e, k: [{ a: k }, { b: '},{"' }] }));
    const bases = [
      JSON.stringify({ ...rest, logEvents }),
      JSON.stringify({ logEvents: nested, ...rest }),
      JSON.stringify({ logEvents }).replace(/,"/g, ', "'),
    ];
    const { texts, invalid } = damagedTexts(bases, 6000, rng(11));
    const accepted = texts.filter((text) => items(text) !== undefined).length;
    expect(invalid).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(200);
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
