import { describe, expect, it } from 'vitest';
import { rng } from '../../demo/cwlogs.js';
import { adminEvent, authEvent, telephonyEvent } from '../../demo/duo-events.js';
import { fitsOneString } from '../../formats/json_pieces.js';
import { parseBody } from './client.js';
import { LOGS } from './logs.js';

const r = rng(3);
const t0 = 1_764_000_000_000;

describe('parseBody', () => {
  // Pages as Duo's API documents them, a thousand events each (each log's own list).
  const pages = {
    authentication: {
      response: {
        authlogs: Array.from({ length: 1000 }, (_, i) => authEvent(i, t0 + i, r)),
        metadata: { next_offset: [String(t0 + 999), 'txid-999'], total_objects: 5000 },
      },
      stat: 'OK',
    },
    telephony: {
      response: {
        items: Array.from({ length: 1000 }, (_, i) => telephonyEvent(i, t0 + i, r)),
        metadata: { next_offset: '31229d9f-62d6-4b1c', total_objects: 5000 },
      },
      stat: 'OK',
    },
    administrator: { response: Array.from({ length: 1000 }, (_, i) => adminEvent(i, t0 + i, r)), stat: 'OK' },
  };

  for (const [log, page] of Object.entries(pages) as [keyof typeof pages, object][])
    it(`reads a ${log} page too large for one string as JSON.parse does, with each event's text`, () => {
      const bytes = Buffer.from(JSON.stringify(page));
      expect(fitsOneString(bytes)).toBe(false);
      const events = LOGS[log].read((page as { response: unknown }).response).events;
      const parsed = parseBody(bytes, LOGS[log].list);
      if (!('value' in parsed)) throw new Error('not parsed');
      expect(parsed.value).toEqual(page);
      expect(parsed.events!.list).toBe(
        LOGS[log].read((parsed.value as { response: unknown }).response).events,
      );
      expect(parsed.events!.texts).toEqual(events.map((e) => JSON.stringify(e)));
      // Written over several lines: the values, but no text (a document line must be one line).
      const pretty = parseBody(Buffer.from(JSON.stringify(page, null, 1)), LOGS[log].list);
      if (!('value' in pretty)) throw new Error('not parsed');
      expect(pretty.value).toEqual(page);
      expect(pretty.events!.texts.every((t) => t === undefined)).toBe(true);
    });

  it('parses a page whole where the list is not where it was said to be, and reports what is not JSON', () => {
    const bytes = Buffer.from(JSON.stringify(pages.authentication));
    expect(parseBody(bytes, LOGS.telephony.list)).toEqual({ value: pages.authentication });
    // Events that are not objects: parsed, without texts.
    const odd = { response: { authlogs: [1, 'two'], metadata: {} }, stat: 'OK' };
    expect(parseBody(Buffer.from(JSON.stringify(odd)), LOGS.authentication.list)).toEqual({ value: odd });
    const cut = parseBody(bytes.subarray(0, bytes.length - 10), LOGS.authentication.list);
    expect('error' in cut && cut.error).toBeInstanceOf(SyntaxError);
  });
});
