import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultLimits } from '../../core/limits.js';
import { gzipJson, rng, subscriptionMessage } from '../../demo/cwlogs.js';
import { releasesWrittenBytes } from '../../sinks/stdout/index.js';
import { type DecodeOptions, decode } from './decode.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-decode-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decode', () => {
  it('streams a file of base64 records: the file may be larger than what is ever held at once', async () => {
    const r = rng(7);
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      const msg = subscriptionMessage({
        kind: i % 2 ? 'vpc' : 'app',
        count: 20,
        start: 1_764_000_000_000,
        r,
      });
      lines.push(gzipJson(msg).toString('base64'));
    }
    const file = join(dir, 'records.b64');
    const text = `${lines.join('\n')}\n`;
    await writeFile(file, text);
    // Each record fits easily; the whole file does not.
    const limits = { ...defaultLimits, max_inflated_bytes: Math.floor(text.length / 4) };
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const reports: string[] = [];
    const res = await decode(file, {
      parser: 'auto',
      format: 'doc',
      limits,
      stdout: out,
      report: (l) => reports.push(l),
    });
    expect(reports).toEqual([]);
    expect(res).toEqual({ events: 800, bad: 0, workers: 0 });
    const docs = Buffer.concat(chunks).toString('utf8').trim().split('\n');
    expect(docs).toHaveLength(800);
    expect(JSON.parse(docs[0]!).aws.cloudwatch.log_group).toBe('/aws/lambda/checkout-api');
  });

  describe('with worker threads, on input over 1 MB', () => {
    /** What a run printed: its result, stdout and stderr lines. */
    async function run(file: string, opts: Partial<DecodeOptions>) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const reports: string[] = [];
      const res = await decode(file, {
        parser: 'auto',
        format: 'doc',
        stdout: out,
        report: (l) => reports.push(l),
        ...opts,
      });
      return { res, out: Buffer.concat(chunks).toString('utf8'), reports };
    }

    /** Base64 CloudWatch Logs records, a line each, with bad lines of every kind among them. */
    async function recordsWithBadLines(): Promise<string> {
      const r = rng(11);
      const lines: string[] = [];
      for (let i = 0; i < 130; i++) {
        const msg = subscriptionMessage({ kind: i % 2 ? 'vpc' : 'app', count: 200, start: 1.764e12 + i, r });
        lines.push(gzipJson(msg).toString('base64'));
        if (i === 3) lines.push(gzipSync('{"messageType":"DATA_MESSAGE",').toString('base64')); // cut JSON
        if (i === 40) lines.push('');
        if (i === 70) lines.push(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8]).toString('base64'));
        if (i === 100) lines.push('A'.repeat(70_000)); // over max_line_bytes below
      }
      const file = join(dir, 'records.b64');
      await writeFile(file, `${lines.join('\n')}\n`);
      return file;
    }
    const limits = { ...defaultLimits, max_line_bytes: 64 * 1024 };

    it('prints what one thread prints, in input order, with the same bad lines reported', async () => {
      const file = await recordsWithBadLines();
      const here = await run(file, { workers: 0, limits });
      const split = await run(file, { workers: 2, limits });
      expect(split.res).toEqual({ ...here.res, workers: 2 });
      expect(here.res).toMatchObject({ events: 26_000, bad: 3, workers: 0 });
      expect(split.reports).toEqual(here.reports);
      expect(split.reports.join('\n')).toMatch(/records\.b64 line 5: .*JSON/);
      expect(split.reports.join('\n')).toMatch(/records\.b64 line 105: line 105 is 70000 bytes/);
      expect(split.out).toEqual(here.out);
    });

    it('writes a file byte for byte as it writes a pipe, in both modes: buffers are encoded into again only once written', async () => {
      const file = await recordsWithBadLines();
      const here = await run(file, { workers: 0, limits });
      for (const workers of [0, 2]) {
        const path = join(dir, `out-${workers}.ndjson`);
        // A file stream lets go of what it wrote (unlike the PassThrough above): buffers are reused.
        const stdout = createWriteStream(path);
        expect(releasesWrittenBytes(stdout)).toBe(true);
        const res = await decode(file, {
          parser: 'auto',
          format: 'doc',
          stdout,
          report: () => {},
          workers,
          limits,
        });
        await new Promise<void>((resolve, reject) =>
          stdout.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
        expect(res).toEqual({ ...here.res, workers });
        expect(await readFile(path, 'utf8')).toEqual(here.out);
      }
    });

    it('keeps the order and the envelope with a named parser and one worker', async () => {
      const file = await recordsWithBadLines();
      const opts = { parser: 'cloudwatch_logs', format: 'envelope', limits } as const;
      const here = await run(file, { ...opts, workers: 0 });
      const split = await run(file, { ...opts, workers: 1 });
      expect(split.res).toEqual({ ...here.res, workers: 1 });
      expect(split.reports).toEqual(here.reports);
      expect(split.out).toEqual(here.out);
      const first = JSON.parse(split.out.slice(0, split.out.indexOf('\n')));
      expect(first.origin.ref).toBe(file);
    });

    it('splits JSON lines too, naming each event by its line in the whole file', async () => {
      const lines = Array.from({ length: 12_000 }, (_, i) =>
        i === 9_000
          ? '{"broken": '
          : JSON.stringify({ '@timestamp': 1.764e12 + i, n: i, pad: 'x'.repeat(80) }),
      );
      const file = join(dir, 'app.ndjson');
      await writeFile(file, `${lines.join('\n')}\n`);
      const here = await run(file, { workers: 0 });
      const split = await run(file, { workers: 2 });
      expect(split.res).toEqual({ events: 11_999, bad: 1, workers: 2 });
      expect(split.reports).toEqual(here.reports);
      expect(split.reports[0]).toMatch(/app\.ndjson line 9001: line 9001 is not valid JSON/);
      expect(split.out).toEqual(here.out);
    });

    it('decodes a big input that is one document in this thread (a Kinesis event, pretty-printed)', async () => {
      const r = rng(9);
      const Records = Array.from({ length: 120 }, (_, i) => ({
        eventID: `shardId-000000000000:4959${i}`,
        kinesis: {
          data: gzipJson(subscriptionMessage({ kind: 'vpc', count: 200, start: 1.764e12 + i, r })).toString(
            'base64',
          ),
          sequenceNumber: `4959${i}`,
          partitionKey: 'k',
        },
      }));
      const file = join(dir, 'event.json');
      await writeFile(file, JSON.stringify({ Records }, null, 2));
      const here = await run(file, { workers: 0 });
      const split = await run(file, { workers: 2 });
      expect(split.reports).toEqual([]);
      expect(split.res).toEqual({ events: 24_000, bad: 0, workers: 0 });
      expect(split.out).toEqual(here.out);
    });

    it('decodes small input in this thread: starting workers would cost more', async () => {
      const file = join(dir, 'small.b64');
      const r = rng(5);
      await writeFile(
        file,
        `${gzipJson(subscriptionMessage({ kind: 'vpc', count: 5, start: 1.7e12, r })).toString('base64')}\n`,
      );
      expect((await run(file, { workers: 2 })).res).toEqual({ events: 5, bad: 0, workers: 0 });
    });
  });
});
