import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RawItem } from '../core/batch.js';
import type { Parser, Transform } from '../core/component.js';
import { type LogEvent, serializedDoc } from '../core/event.js';
import { runBatch } from '../core/pipeline.js';
import { makeEvents } from '../demo/duo-events.js';
import { DuoAuthParser } from '../parsers/duo_auth/index.js';
import { DuoTelephonyParser } from '../parsers/duo_telephony/index.js';
import { MemorySink, testPipeline } from '../testing/memory.js';
import { duoDocument } from './duo_common.js';

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, '../parsers/duo_auth/fixtures/authlogs-v2.json'), 'utf8'),
) as { response: { authlogs: Record<string, unknown>[] } };

// Duo's documented telephony log (v2) example item.
const telephonyExample = (
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../parsers/duo_telephony/fixtures/telephony-v2.json'), 'utf8'),
  ) as { response: { items: Record<string, unknown>[] } }
).response.items[0]!;

/**
 * Events a hostile or careless peer could send, read the way the source reads them (JSON.parse
 * of the page): own `__proto__` keys, lone surrogates, quotes and escapes, nulls, nested and
 * empty lists, no txid, keys that look like the document's own.
 */
const hostile = JSON.parse(`[
  {"txid":"h-1","isotimestamp":"2026-11-30T08:00:00.123456+00:00","timestamp":1796025600,
   "user":{"name":"\\"quoted\\" \\\\ back\\u2028slash","key":"\\ud800lone"},"result":"success",
   "access_device":{"ip":null,"location":{"city":"Zürich 😀","state":"\\udfff","country":null},"browser":""},
   "application":{"name":"<script>alert(1)</script>","key":null},
   "__proto__":{"polluted":true},"toJSON":"not a function","duo":{"event":1},"@timestamp":"x",
   "factor":null,"reason":"","email":"\\u0000nul@example.com","trusted_endpoint_status":[],
   "nested":[[1,[2,{"a":null,"b":[]}]],[],{}],"num":-0,"big":1e21,"event_type":"enrollment"},
  {"isotimestamp":"2026-11-30T08:00:01Z","user":{"name":"no-txid"},"result":"denied","ünïcode key":"é"},
  {"timestamp":1796025602,"txid":"h-3"},
  {"ts":"2026-11-30T08:00:03Z","type":"phone","phone":"+1\\"555","credits":null,"context":"\\ud83d","__proto__":[]},
  {"timestamp":1796025604,"type":null,"telephony_id":""}
]`) as Record<string, unknown>[];

const item = (value: unknown, n: number): RawItem => ({
  ackId: `a${n}`,
  origin: { source: 'duo', type: 'duo', ref: `duo/test/${n}` },
  body: { kind: 'object', value },
});

async function deliver(parser: Parser, events: unknown[], transforms: Transform[] = []): Promise<LogEvent[]> {
  const sink = new MemorySink();
  const p = testPipeline({ parser, sinks: [sink] }, { transforms });
  const res = await runBatch({ source: 'duo', items: events.map(item) }, p);
  expect(res.items.every((r) => r.status === 'delivered')).toBe(true);
  return [...sink.byId.values()];
}

const authEvents = [
  ...fixture.response.authlogs,
  ...makeEvents('authentication', 20, Date.parse('2026-11-30T00:00:00Z'), 1).map((e) => e.body),
  ...hostile,
];
const telephonyEvents = [
  telephonyExample,
  ...makeEvents('telephony', 20, Date.parse('2026-11-30T00:00:00Z'), 1).map((e) => e.body),
  ...hostile,
];

describe('Duo documents serialized once', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  for (const [name, parser, events] of [
    ['duo_auth', new DuoAuthParser(), authEvents],
    ['duo_telephony', new DuoTelephonyParser(), telephonyEvents],
  ] as const) {
    it(`${name}: the document's JSON is byte for byte JSON.stringify(doc), and its duo member is the original`, async () => {
      const delivered = await deliver(parser, [...events]);
      expect(delivered.length).toBeGreaterThan(events.length / 2);
      for (const ev of delivered) {
        const json = serializedDoc(ev);
        expect(json).toBe(JSON.stringify(ev.doc));
        expect(JSON.stringify(ev.doc.duo)).toBe(ev.original);
      }
    });

    it(`${name}: each event is serialized once for its original, its id and its document`, async () => {
      const stringify = vi.spyOn(JSON, 'stringify');
      const delivered = await deliver(parser, [...events]);
      for (const ev of delivered) serializedDoc(ev);
      // Calls that serialized a whole delivered event: on its own, or inside its document.
      const whole = new Set<unknown>(delivered.map((ev) => ev.doc.duo));
      const wholeCalls = stringify.mock.calls.filter(([v]) => {
        const duo = v !== null && typeof v === 'object' ? (v as { duo?: unknown }).duo : undefined;
        return whole.has(v) || whole.has(duo);
      });
      expect(wholeCalls.length).toBe(delivered.length);
    });

    it(`${name}: after a transform the document is serialized as the transform left it`, async () => {
      const redact: Transform = (ev) => {
        const duo = { ...(ev.doc.duo as object), user: 'redacted', phone: 'hidden' };
        return { ...ev, doc: { ...ev.doc, duo } };
      };
      const inPlace: Transform = (ev) => {
        (ev.doc.duo as Record<string, unknown>).phone = 'hidden';
        return ev;
      };
      for (const t of [redact, inPlace]) {
        const copies = events.map((e) => structuredClone(e));
        for (const ev of await deliver(parser, copies, [t])) {
          expect(serializedDoc(ev)).toBe(JSON.stringify(ev.doc));
          expect(serializedDoc(ev)).not.toContain('+15555550100');
        }
      }
    });
  }

  /** Each event as Duo's Python writes it: non-ASCII escaped, `, ` and `: ` between members. */
  const duoText = (e: unknown) =>
    JSON.stringify(e, null, 1)
      .replace(/\n */g, (_m, at: number, all: string) => (all[at - 1] === ',' ? ' ' : ''))
      .replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

  for (const [name, parser, events] of [
    ['duo_auth', new DuoAuthParser(), authEvents],
    ['duo_telephony', new DuoTelephonyParser(), telephonyEvents],
  ] as const) {
    it(`${name}: an event that comes with Duo's text keeps it as original and in its document, and its id`, async () => {
      const texts = events.map(duoText);
      expect(texts.some((t, i) => t !== JSON.stringify(events[i]))).toBe(true);
      const sink = new MemorySink();
      const p = testPipeline({ parser, sinks: [sink] });
      const stringify = vi.spyOn(JSON, 'stringify');
      const res = await runBatch(
        {
          source: 'duo',
          items: events.map((e, n) => ({
            ...item(e, n),
            body: { kind: 'object', value: e, text: texts[n]! },
          })),
        },
        p,
      );
      expect(res.items.every((r) => r.status === 'delivered')).toBe(true);
      const withText = [...sink.byId.values()];
      for (const ev of withText) {
        const text = ev.original!;
        expect(texts).toContain(text);
        const json = serializedDoc(ev);
        expect(json).toContain(`"duo":${text},"@timestamp":`);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(ev.doc)));
      }
      // No whole event serialized, except for an id from its content (no txid / telephony_id).
      const whole = new Set<unknown>(withText.map((ev) => ev.doc.duo));
      const wholeCalls = stringify.mock.calls.filter(([v]) => whole.has(v)).length;
      vi.restoreAllMocks();
      const withoutId = withText.filter((ev) => {
        const duo = ev.doc.duo as Record<string, unknown>;
        return !(name === 'duo_auth' ? duo.txid : duo.telephony_id || duo.txid);
      });
      expect(wholeCalls).toBe(withoutId.length);
      // The same ids as the events without their text (what a replay of a dead letter brings back).
      const plain = await deliver(parser, [...events]);
      expect(withText.map((ev) => ev.id).sort()).toEqual(plain.map((ev) => ev.id).sort());
    });
  }

  it('a replayed event (bytes) keeps its own text as original and its document stays JSON.stringify(doc)', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser: new DuoAuthParser(), sinks: [sink] });
    const text = `{ "txid": "r-1", "isotimestamp": "2026-11-30T08:00:00Z", "user": {"name": "\\u00e9"} }`;
    await runBatch(
      {
        source: 'duo',
        items: [{ ...item(null, 0), body: { kind: 'bytes', bytes: Buffer.from(text) } }],
      },
      p,
    );
    const [ev] = sink.byId.values();
    expect(ev!.original).toBe(text);
    expect(serializedDoc(ev!)).toBe(JSON.stringify(ev!.doc));
    expect(serializedDoc(ev!)).toContain(
      '"duo":{"txid":"r-1","isotimestamp":"2026-11-30T08:00:00Z","user":{"name":"é"}}',
    );
  });

  it('a Duo document of another shape than the parser built is written by JSON.stringify', () => {
    const event = { txid: 't', user: { name: 'ü"' } };
    const json = JSON.stringify(event);
    const shapes: ((doc: Record<string, unknown>) => Record<string, unknown>)[] = [
      (doc) => ({ ...doc, '@timestamp': '2026-11-30T08:00:00.000Z' }),
      (doc) => ({ ...doc, extra: 1, '@timestamp': 'x' }),
      (doc) => ({ '@timestamp': 'x', ...doc }),
      (doc) => ({ ...doc, event: { id: 'other' }, '@timestamp': 'x' }),
      (doc) => ({ ...doc, duo: { ...event }, '@timestamp': 'x' }),
    ];
    for (const ecs of [{ event: { kind: 'event' }, user: { name: 'u' } }, {}]) {
      const { doc, toJson } = duoDocument(ecs, event, json);
      for (const shape of shapes) {
        const d = shape(doc) as Parameters<NonNullable<typeof toJson>>[0];
        expect(toJson!(d)).toBe(JSON.stringify(d));
      }
    }
  });
});
