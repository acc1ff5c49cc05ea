import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultLimits } from '../../core/limits.js';
import { gzipJson, rng, subscriptionMessage } from '../../demo/cwlogs.js';
import { decode } from './decode.js';

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
    expect(res).toEqual({ events: 800, bad: 0 });
    const docs = Buffer.concat(chunks).toString('utf8').trim().split('\n');
    expect(docs).toHaveLength(800);
    expect(JSON.parse(docs[0]!).aws.cloudwatch.log_group).toBe('/aws/lambda/checkout-api');
  });
});
