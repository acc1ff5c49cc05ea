import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LimitError, ParseError } from '../../core/errors.js';
import { defaultLimits } from '../../core/limits.js';
import { finalizeEvent } from '../../core/pipeline.js';
import { type Doc, gzipUpTo, runParser, s3Item } from '../../testing/parse-harness.js';
import { CloudTrailParser } from './index.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name));
const KEY =
  'AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz';
const parser = new CloudTrailParser();

describe('cloudtrail parser', () => {
  it('maps the documented examples to ECS with the whole record under aws.cloudtrail', async () => {
    const { drafts, rejected, error } = await runParser(
      parser,
      s3Item(gzipSync(fixture('aws-docs.json')), { key: KEY }),
    );
    expect(error).toBeUndefined();
    expect(rejected).toEqual([]);
    expect(drafts).toHaveLength(3);
    const [start, , failed] = drafts.map((d) => d.doc as Doc);
    expect(start!.event).toEqual({
      kind: 'event',
      provider: 'ec2.amazonaws.com',
      action: 'StartInstances',
      outcome: 'success',
    });
    expect(start!.cloud).toEqual({ provider: 'aws', region: 'us-east-1', account: { id: '123456789012' } });
    expect(start!.source).toEqual({ ip: '192.0.2.0', address: '192.0.2.0' });
    expect(start!.user).toEqual({ name: 'Mateo', id: 'EXAMPLE6E4XEGITWATV6R' });
    expect(start!.user_agent.original).toMatch(/^aws-cli\/2\.13\.5 /);
    expect(start!.aws.cloudtrail.responseElements.instancesSet.items).toHaveLength(2);
    expect(start!.aws.cloudtrail.tlsDetails.clientProvidedHostHeader).toBe('ec2.us-east-1.amazonaws.com');
    expect(drafts[0]!.timestamp).toBe(Date.parse('2023-07-19T21:17:28Z'));
    expect(failed!.event.outcome).toBe('failure');
    expect(failed!.error).toEqual({
      code: 'TrailNotFoundException',
      message:
        'Unknown trail: arn:aws:cloudtrail:us-east-1:111122223333:trail/myTrail2 for the user: 111122223333',
    });
  });

  it('derives the event id from eventID, whatever file delivers the record', async () => {
    const a = await runParser(parser, s3Item(fixture('aws-docs.json'), { key: KEY, etag: 'one' }));
    const b = await runParser(
      parser,
      s3Item(fixture('aws-docs.json'), { key: `copy/${KEY}`, etag: 'two', chunk: 7 }),
    );
    const ids = (r: typeof a) => r.drafts.map((d) => finalizeEvent(d, s3Item('').origin).id);
    expect(ids(a)).toEqual(ids(b));
    expect(new Set(ids(a)).size).toBe(3);
    expect(a.drafts[0]!.idParts).toEqual(['e755e09c-42f9-4c5c-9064-EXAMPLE228c7']);
  });

  it('reads records split across tiny chunks, with escapes and braces inside strings', async () => {
    const rec = {
      eventID: 'x1',
      eventTime: '2024-01-01T00:00:00Z',
      note: 'he said "}{][" \\ ok',
      nested: { a: [1, { b: '}' }] },
    };
    const doc = JSON.stringify({ Records: [rec, { ...rec, eventID: 'x2' }], other: '"Records"' });
    for (const chunk of [1, 2, 3, 5, 1000]) {
      const { drafts, error } = await runParser(parser, s3Item(doc, { chunk }));
      expect(error).toBeUndefined();
      expect(drafts.map((d) => (d.doc as { aws: { cloudtrail: unknown } }).aws.cloudtrail)).toEqual([
        rec,
        { ...rec, eventID: 'x2' },
      ]);
    }
  });

  it('reads the Insights example and an empty Records array', async () => {
    expect((await runParser(parser, s3Item(fixture('insights.json')))).drafts).toHaveLength(2);
    const empty = await runParser(parser, s3Item('{"Records":[]}'));
    expect(empty).toEqual({ drafts: [], rejected: [] });
  });

  it('skips digest files by key and by content', async () => {
    const digest = JSON.stringify({
      awsAccountId: '111122223333',
      digestStartTime: '2015-08-01T01:00:00Z',
      logFiles: [],
    });
    const byKey = await runParser(
      parser,
      s3Item(digest, {
        key: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150801T0210Z.json.gz',
      }),
    );
    expect(byKey).toEqual({ drafts: [], rejected: [] });
    expect(await runParser(parser, s3Item(digest))).toEqual({ drafts: [], rejected: [] });
  });

  it('delivers the records before a truncation, then fails naming where the file ends', async () => {
    const text = fixture('aws-docs.json').toString('utf8');
    const cut = text.indexOf('"eventName": "UpdateTrail"');
    const { drafts, error } = await runParser(parser, s3Item(gzipSync(text.slice(0, cut)), { key: KEY }));
    expect(drafts).toHaveLength(2);
    expect(error).toBeInstanceOf(ParseError);
    expect(error!.message).toMatch(/^JSON is truncated: the file ends inside Records\[2\] at byte \d+$/);
  });

  it('sets aside one record that is not valid JSON and goes on', async () => {
    const doc =
      '{"Records":[{"eventID":"a","eventTime":"2024-01-01T00:00:00Z"},{"eventID": nope},{"eventID":"c"}]}';
    const { drafts, rejected, error } = await runParser(parser, s3Item(doc));
    expect(error).toBeUndefined();
    expect(drafts).toHaveLength(2);
    expect(rejected.map((r) => [r.ref, r.error.message])).toEqual([
      ['Records[1]', expect.stringMatching(/^Records\[1\] is not valid JSON/)],
    ]);
  });

  it('refuses a zero-byte object, a JSON array and an object without Records', async () => {
    expect((await runParser(parser, s3Item(''))).error?.message).toBe('is empty (no JSON document)');
    expect((await runParser(parser, s3Item('[1,2]'))).error?.message).toMatch(
      /^is not a CloudTrail log file: it starts with '\['/,
    );
    expect((await runParser(parser, s3Item('{"foo":[1]}'))).error?.message).toMatch(/has no Records array/);
  });

  it('sets aside a record over the record limit', async () => {
    const big = JSON.stringify({ eventID: 'big', pad: 'x'.repeat(5000) });
    const doc = `{"Records":[${big},{"eventID":"small"}]}`;
    const limits = {
      ...defaultLimits,
      max_record_bytes: 1000,
      max_inflated_bytes: 1e6,
      max_line_bytes: 1000,
    };
    const { drafts, rejected } = await runParser(parser, s3Item(doc, { chunk: 100 }), limits);
    expect(drafts.map((d) => d.idParts)).toEqual([['small']]);
    expect(rejected[0]!.error.message).toMatch(
      /^Records\[0\] is 5\d\d\d bytes, over the 1000-byte record limit$/,
    );
  });

  it('reports damaged gzip with the compressed byte offset after delivering what came before', async () => {
    const records = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ eventID: `id-${i}`, eventTime: '2024-01-01T00:00:00Z' }),
    );
    const good = gzipUpTo(`{"Records":[${records.join(',')},`);
    const damaged = Buffer.concat([good, Buffer.alloc(64, 0xff)]);
    // The damage starts a new read: what zlib inflated before it is all delivered.
    const { drafts, error } = await runParser(parser, s3Item(damaged, { key: KEY, chunk: good.length }));
    expect(drafts).toHaveLength(300);
    expect(error).toBeInstanceOf(ParseError);
    expect(error!.message).toMatch(/gzip is damaged/);
    const at = Number(/^compressed byte (\d+)$/.exec((error as ParseError).position ?? '')?.[1]);
    expect(at).toBeGreaterThanOrEqual(good.length);
    expect(at).toBeLessThanOrEqual(damaged.length);
  });

  it('refuses a file whose top-level key is over the key limit, without buffering it', async () => {
    // A 2 MB key streamed in 64 KB chunks: the scanner stops at the default 64 KiB cap.
    const doc = `{"${'k'.repeat(2 * 1024 * 1024)}":1,"Records":[{"eventID":"a"}]}`;
    const { drafts, error } = await runParser(parser, s3Item(gzipSync(doc), { key: KEY }));
    expect(drafts).toEqual([]);
    expect(error).toBeInstanceOf(LimitError);
    expect(error!.message).toMatch(
      /^a top-level key is over the 65536-byte limit \(near uncompressed byte \d+\): not a CloudTrail log file$/,
    );
  });

  it('refuses a gzip file that inflates past the ratio allowance (decompression bomb)', async () => {
    const record = JSON.stringify({ eventID: 'x', eventTime: '2024-01-01T00:00:00Z', pad: ' '.repeat(1000) });
    const bomb = gzipSync(`{"Records":[${Array.from({ length: 4000 }, () => record).join(',')}]}`);
    const limits = { ...defaultLimits, max_inflated_bytes: 1024 * 1024, max_inflate_ratio: 20 };
    const { drafts, error } = await runParser(parser, s3Item(bomb, { key: KEY }), limits);
    expect(error).toBeInstanceOf(LimitError);
    expect(error!.message).toMatch(
      /^gzip inflates over 20× its size \(\d+ bytes from \d+ compressed, past the 1048576-byte allowance\): decompression bomb\?$/,
    );
    expect(drafts.length).toBeLessThan(4000);
    // The same file within a generous ratio goes through whole.
    const ok = await runParser(parser, s3Item(bomb, { key: KEY }), { ...limits, max_inflate_ratio: 10_000 });
    expect(ok.drafts).toHaveLength(4000);
  });

  it('takes account and region from the AWSLogs key when a record lacks them', async () => {
    const rec = JSON.parse(fixture('aws-docs.json').toString()).Records[0];
    delete rec.recipientAccountId;
    delete rec.awsRegion;
    const key =
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/01/01/111122223333_CloudTrail_eu-west-1_20240101T0000Z_abcdEFGH12345678.json.gz';
    const { drafts } = await runParser(parser, s3Item(gzipSync(JSON.stringify({ Records: [rec] })), { key }));
    expect(drafts[0]!.doc.cloud).toEqual({
      provider: 'aws',
      region: 'eu-west-1',
      account: { id: '111122223333' },
    });
    // The record's own fields win over the key.
    const own = await runParser(parser, s3Item(fixture('aws-docs.json'), { key }));
    expect((own.drafts[0]!.doc.cloud as { account: unknown }).account).toEqual({ id: '123456789012' });
  });
});
