import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../core/errors.js';
import { defaultLimits } from '../core/limits.js';
import { runBatch } from '../core/pipeline.js';
import { JsonLinesParser } from '../parsers/json_lines/index.js';
import { MemorySink, testPipeline } from '../testing/memory.js';
import { s3Item } from '../testing/parse-harness.js';
import { type Line, readLines } from './lines.js';

async function collect(input: Readable, max = 100): Promise<Line[]> {
  const out: Line[] = [];
  for await (const l of readLines(input, max, 'test.log')) out.push(l);
  return out;
}

function chunks(buf: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

describe('readLines', () => {
  it('splits lines across chunk boundaries, CRLF and a last line without newline', async () => {
    const text = Buffer.from('alpha\r\nbeta\n\ngamma delta\nlast');
    expect((await collect(chunks(text, 3))).map((l) => l.text)).toEqual([
      'alpha',
      'beta',
      '',
      'gamma delta',
      'last',
    ]);
  });

  it('gunzips when the data starts with the gzip magic', async () => {
    const gz = gzipSync('one\ntwo\n');
    expect((await collect(chunks(gz, 5))).map((l) => [l.no, l.text])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
  });

  it('reports an oversize line without keeping it, and goes on', async () => {
    const text = Buffer.from(`short\n${'x'.repeat(250)}\nafter\n`);
    const lines = await collect(chunks(text, 64), 100);
    expect(lines.map((l) => [l.no, l.text, l.oversize])).toEqual([
      [1, 'short', undefined],
      [2, '', 250],
      [3, 'after', undefined],
    ]);
  });

  it('delivers the lines before damaged gzip and says where the damage is', async () => {
    const body = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'abcdefghij'.repeat(i % 7)}`).join('\n');
    const gz = gzipSync(body);
    const damaged = Buffer.concat([
      gz.subarray(0, Math.floor(gz.length / 2)),
      Buffer.alloc(64, 0xff),
      gz.subarray(Math.floor(gz.length / 2)),
    ]);
    const seen: Line[] = [];
    const err = await (async () => {
      for await (const l of readLines(chunks(damaged, 1024), 1000, 'big.log.gz')) seen.push(l);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect(err.message).toMatch(/^big\.log\.gz: gzip is damaged after line \d+/);
    expect(err.position).toMatch(/^compressed byte \d+$/);
    expect(seen.length).toBeGreaterThan(100);
    // Deflate may turn the damaged bytes into a few garbage lines before it notices; what came
    // before the damage is intact.
    expect(seen.slice(0, 100).every((l, i) => l.text.startsWith(`line ${i} `))).toBe(true);
  });

  it('yields nothing for an empty body', async () => {
    expect(await collect(Readable.from([]))).toEqual([]);
  });
});

describe('inflated-size cap on streamed objects', () => {
  it('dead-letters a .jsonl.gz that inflates past the ratio allowance, naming the object', async () => {
    // 8 MB of one repeated line gzips to a few KB: a small decompression bomb.
    const line = `${JSON.stringify({ message: 'x'.repeat(200) })}\n`;
    const bomb = gzipSync(line.repeat(40_000));
    const sink = new MemorySink();
    const p = testPipeline(
      { parser: new JsonLinesParser(), sinks: [sink] },
      { limits: { ...defaultLimits, max_inflated_bytes: 1024 * 1024, max_inflate_ratio: 100 } },
    );
    const item = s3Item(bomb, { bucket: 'logs', key: 'app/2026/12/01/bomb.jsonl.gz' });
    await runBatch({ source: 's3', items: [item] }, p);
    expect(p.deadLetter.entries).toHaveLength(1);
    const entry = p.deadLetter.entries[0]!;
    expect(entry.error).toMatch(
      /^parse s3:\/\/logs\/app\/2026\/12\/01\/bomb\.jsonl\.gz: gzip inflates over 100× its size \(\d+ bytes from \d+ compressed, past the 1048576-byte allowance\): decompression bomb\?$/,
    );
    expect(entry.error).not.toContain('\n');
    expect(sink.byId.size).toBeLessThan(40_000);
  });
});
