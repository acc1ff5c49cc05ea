import { describe, expect, it } from 'vitest';
import { MemorySink, testPipeline } from '../testing/memory.js';
import type { RawItem } from './batch.js';
import type { Parser } from './component.js';
import { describeError, LimitError, ParseError } from './errors.js';
import type { Origin } from './event.js';
import { runBatch } from './pipeline.js';

const item = (n: number, text: string): RawItem => ({
  ackId: `a${n}`,
  origin: { source: 's', type: 'test', ref: `test/${n}` },
  body: { kind: 'bytes', bytes: Buffer.from(text) },
});

describe('errors say where', () => {
  it('names the input given when the error was created without an origin, and leaves the error as it was', () => {
    const error = new ParseError('not JSON');
    const at: Origin = { source: 's', type: 'test', ref: 'bucket/key line 3' };
    expect(describeError(error, at)).toBe('parse bucket/key line 3: not JSON');
    expect(error.origin).toBeUndefined();
    expect(describeError(error)).toBe('parse: not JSON');
  });

  it('keeps the origin an error was created with', () => {
    const own: Origin = { source: 's', type: 'test', ref: 'stream/shard-1/42' };
    const other: Origin = { source: 's', type: 'test', ref: 'elsewhere' };
    expect(describeError(new ParseError('bad', { origin: own }), other)).toBe('parse stream/shard-1/42: bad');
  });

  it('gives each item its own origin when a parser throws one shared error instance', async () => {
    // A parser may keep one error for a condition it meets often (an input over a limit).
    const tooBig = new LimitError('over the 1 MiB item limit');
    const parser: Parser = {
      name: 'shared-error',
      parse() {
        throw tooBig;
      },
    };
    const p = testPipeline({ parser, sinks: [new MemorySink()] });
    await runBatch({ source: 's', items: [item(0, 'x'), item(1, 'y')] }, p);
    expect(p.deadLetter.entries.map((e) => e.error)).toEqual([
      'parse test/0: over the 1 MiB item limit',
      'parse test/1: over the 1 MiB item limit',
    ]);
    expect(tooBig.origin).toBeUndefined();
  });

  it('names the item and the part when a parser sets one part aside', async () => {
    const partError = new ParseError('line is not JSON');
    const parser: Parser = {
      name: 'rejecting',
      // biome-ignore lint/correctness/useYield: it only sets its one part aside, no event comes out
      async *parse(_item, ctx) {
        await ctx.reject({ ref: 'line 7' }, partError);
      },
    };
    const p = testPipeline({ parser, sinks: [new MemorySink()] });
    await runBatch({ source: 's', items: [item(0, 'x')] }, p);
    expect(p.deadLetter.entries[0]).toMatchObject({
      origin: { ref: 'test/0 line 7' },
      error: 'parse test/0 line 7: line is not JSON',
    });
    expect(partError.origin).toBeUndefined();
  });
});
