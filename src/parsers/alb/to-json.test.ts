import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Parser } from '../../core/component.js';
import { type LogEvent, serializedDoc } from '../../core/event.js';
import { finalizeEvent, runBatch } from '../../core/pipeline.js';
import { rng } from '../../demo/cwlogs.js';
import { cloudFromItem, type LineFormat } from '../../formats/aws_lb/fields.js';
import { tokenize } from '../../formats/aws_lb/tokenize.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { runParser, s3Item } from '../../testing/parse-harness.js';
import { ElbClassicParser, elbClassicFormat } from '../elb_classic/index.js';
import { NlbParser, nlbFormat } from '../nlb/index.js';
import { AlbParser, albFormat } from './index.js';

/**
 * The load-balancer parsers write their documents as templates (EventDraft.toJson), not through
 * JSON.stringify: the text must still be JSON.stringify's, byte for byte, for any line at all.
 */

const fixtureLines = (dir: string) =>
  readFileSync(join(import.meta.dirname, '..', dir, 'fixtures', 'aws-docs.log'), 'utf8')
    .trim()
    .split('\n');

/** Field values a hostile or broken writer could put in any position. */
const HOSTILE = [
  '-',
  '',
  'a"b',
  '"',
  'back\\slash',
  'trailing\\',
  'tab\there',
  'ctl\u0001\u001f\u007f',
  'nul\u0000',
  'lone \ud800 high',
  'lone \udfff low',
  'pair \ud83d\ude00',
  'unicode é ü \u2028 \u2029 \ufeff',
  'x'.repeat(10_000),
  '1e400',
  '1e303',
  '-0',
  '-0.0',
  '0.0000001',
  '9007199254740993',
  '-1',
  '-5',
  'NaN',
  'Infinity',
  '0x1F',
  '[::1]:443',
  '::1',
  'host:',
  ':80',
  '10.0.0.1:99999999999999999999999',
  'GET',
  'GET http://x y',
  '- - - ',
  'a,b,,c d',
  ',',
  'TLSv1.3',
  'tlsv13',
  'SSLv3',
  '</script>',
  '{"json":1}',
  'GET https://a"b/\\ HTTP/1.1',
  'h2","http/1.1',
];

/** A field as the tokenizer reads it back: quoted (inner quotes escaped) whenever it must be. */
function field(v: string, quoteIt: boolean): string {
  return quoteIt || v === '' || /[ "]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v;
}

function line(fields: readonly string[], keep: ReadonlySet<number> = new Set()): string {
  return fields.map((v, i) => field(v, !keep.has(i))).join(' ');
}

/**
 * Every documented line, then each field of each replaced by each hostile value, lines cut to
 * every allowed length, extra trailing fields, all optional fields absent at once, and random
 * mixes. `fixed` names the fields that must stay for the line to be of the format at all.
 */
function hostileLines(dir: string, fixed: readonly number[], lengths: readonly number[], extra: boolean) {
  const base = fixtureLines(dir);
  const out = [...base];
  const keep = new Set(fixed);
  const r = rng(16);
  for (const text of base) {
    const f = tokenize(text)!;
    for (let i = 0; i < f.length; i++) {
      for (const h of HOSTILE) out.push(line(f.map((v, j) => (j === i ? h : v))));
    }
    for (const n of lengths) if (n <= f.length) out.push(line(f.slice(0, n)));
    if (extra) out.push(line([...f, 'new', '"quoted \\" extra"', 'ü\ud800']));
    out.push(line(f.map((v, j) => (keep.has(j) ? v : '-'))));
    for (let k = 0; k < 100; k++) {
      const mixed = f.map((v, j) =>
        !keep.has(j) && r() < 0.4 ? HOSTILE[Math.floor(r() * HOSTILE.length)]! : v,
      );
      if (extra && r() < 0.3) mixed.push(HOSTILE[Math.floor(r() * HOSTILE.length)]!);
      out.push(line(mixed, r() < 0.5 ? keep : new Set()));
    }
  }
  return out;
}

const ALB_KEY =
  'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2k4qfb2n.log.gz';

const formats: {
  name: string;
  dir: string;
  format: LineFormat;
  parser: (copies: boolean) => Parser;
  lines: () => string[];
}[] = [
  {
    name: 'ALB',
    dir: 'alb',
    format: albFormat,
    parser: (c) => new AlbParser({ aws_copies: c }),
    lines: () =>
      hostileLines(
        'alb',
        [1],
        Array.from({ length: 16 }, (_, i) => 18 + i),
        true,
      ),
  },
  {
    name: 'classic ELB',
    dir: 'elb_classic',
    format: elbClassicFormat,
    parser: (c) => new ElbClassicParser({ aws_copies: c }),
    lines: () => hostileLines('elb_classic', [0], [12], false),
  },
  {
    name: 'NLB',
    dir: 'nlb',
    format: nlbFormat,
    parser: (c) => new NlbParser({ aws_copies: c }),
    lines: () => hostileLines('nlb', [0, 2], [18, 19, 20, 21], true),
  },
];

/** The events a pipeline delivers for `text`; `rename` adds a transform that changes each doc. */
async function delivered(parser: Parser, text: string, key: string, rename = false) {
  const sink = new MemorySink();
  const p = testPipeline({ parser, sinks: [sink] });
  const pipeline = {
    ...p,
    transforms: rename
      ? [
          (ev: LogEvent) => {
            const elb = (ev.doc.aws as { elb: Record<string, unknown> }).elb;
            elb.name = 'renamed "by" a transform';
            return ev;
          },
        ]
      : [],
  };
  const res = await runBatch({ source: 's3', items: [s3Item(text, { key })] }, pipeline);
  expect(res.items[0]!.status, res.items[0]!.error).toBe('delivered');
  return [...sink.byId.values()];
}

describe('load-balancer documents as JSON', () => {
  for (const fmt of formats) {
    it(`${fmt.name}: writes exactly what JSON.stringify writes, for documented and hostile lines`, () => {
      // Straight from the tokens: lines as JS strings keep what no file can carry (lone surrogates).
      const lines = fmt.lines();
      for (const copies of [false, true]) {
        for (const key of [ALB_KEY, 'no/aws/layout.log']) {
          const item = s3Item('', { key });
          const cloud = cloudFromItem(item);
          const file = { cloud, copies, toJson: fmt.format.writer(cloud) };
          let built = 0;
          lines.forEach((text, no) => {
            const f = tokenize(text);
            const draft = f && fmt.format.build(f, ['id', no], file);
            if (!draft || typeof draft === 'string') return;
            // The fast writer is there at all (else this would compare JSON.stringify to itself).
            expect(draft.toJson).toBeTypeOf('function');
            const ev = finalizeEvent(draft, item.origin, true);
            expect(serializedDoc(ev), text).toBe(JSON.stringify(ev.doc));
            built++;
          });
          // Most hostile lines are still lines of the format; the rest are set aside.
          expect(built).toBeGreaterThan(lines.length / 2);
        }
      }
    });

    it(`${fmt.name}: delivers the same text through the pipeline from a gzip'd object`, async () => {
      // A NUL makes a file binary (set aside whole): files carry the other hostile values.
      const text = `${fmt
        .lines()
        .map((l) => l.replace(/\0/g, '\u0001'))
        .join('\n')}\n`;
      for (const copies of [false, true]) {
        const { drafts } = await runParser(fmt.parser(copies), s3Item(text, { key: ALB_KEY }));
        expect(drafts.length).toBeGreaterThan(0);
        expect(drafts.every((d) => typeof d.toJson === 'function')).toBe(true);
        const events = await delivered(fmt.parser(copies), text, ALB_KEY);
        expect(events.length).toBe(drafts.length);
        for (const ev of events) expect(serializedDoc(ev)).toBe(JSON.stringify(ev.doc));
      }
    });
  }

  it('leaves the serializing to JSON.stringify once a transform may have changed the doc', async () => {
    for (const fmt of formats) {
      const text = `${fixtureLines(fmt.dir).join('\n')}\n`;
      const events = await delivered(fmt.parser(false), text, ALB_KEY, true);
      expect(events.length).toBeGreaterThan(0);
      for (const ev of events) {
        const json = serializedDoc(ev);
        expect(json).toBe(JSON.stringify(ev.doc));
        expect(JSON.parse(json).aws.elb.name).toBe('renamed "by" a transform');
      }
    }
  });

  it('writes a copy of an event with a new doc from that doc', async () => {
    const [ev] = await delivered(new AlbParser(), `${fixtureLines('alb')[0]}\n`, ALB_KEY);
    const doc = structuredClone(ev!.doc);
    (doc.aws as { elb: Record<string, unknown> }).elb.name = 'other';
    const copy = { ...ev!, doc };
    expect(serializedDoc(copy)).toBe(JSON.stringify(doc));
    expect(serializedDoc(ev!)).toBe(JSON.stringify(ev!.doc));
  });
});
