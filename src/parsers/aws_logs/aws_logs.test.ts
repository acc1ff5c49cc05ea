import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../../test/events/load.js';
import { type DraftChunk, isDraftList } from '../../core/component.js';
import { ParseError } from '../../core/errors.js';
import { defaultLimits } from '../../core/limits.js';
import { runBatch } from '../../core/pipeline.js';
import { subscriptionMessage } from '../../demo/cwlogs.js';
import { MemorySink, testPipeline } from '../../testing/memory.js';
import { gzipUpTo, runParser, s3Item } from '../../testing/parse-harness.js';
import { formatFromKey, keyContext, sniffFormat } from './detect.js';
import { AwsLogsParser } from './index.js';

const ALB_KEY =
  'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2k4qfb2n.log.gz';

const fixture = (dir: string, name = 'aws-docs.log') =>
  readFileSync(join(import.meta.dirname, '..', dir, 'fixtures', name));

describe('format detection', () => {
  it('knows the documented key layouts', () => {
    expect(
      formatFromKey(
        'AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz',
      ),
    ).toBe('cloudtrail');
    expect(
      formatFromKey(
        'org/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/01/01/111122223333_CloudTrail_eu-west-1_20240101T0000Z_abcdEFGH12345678.json.gz',
      ),
    ).toBe('cloudtrail');
    expect(
      formatFromKey(
        'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_trail_us-east-2_20150801T0210Z.json.gz',
      ),
    ).toBe('digest');
    expect(
      formatFromKey(
        'my-app/AWSLogs/123456789012/elasticloadbalancing/us-west-2/2014/02/15/123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log',
      ),
    ).toBe('elb_classic');
    expect(
      formatFromKey(
        'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2k4qfb2n.log.gz',
      ),
    ).toBe('alb');
    expect(
      formatFromKey(
        'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/12/20/123456789012_elasticloadbalancing_us-east-2_net.my-network-loadbalancer.c6e77e28c25b2234_20181220T2340Z_3k4qfb2n.log.gz',
      ),
    ).toBe('nlb');
    expect(formatFromKey('uploads/report.csv')).toBeUndefined();
    expect(keyContext('x/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/')).toEqual({
      account: '123456789012',
      region: 'us-east-2',
    });
  });

  it('recognizes each format from its first bytes', () => {
    expect(sniffFormat(fixture('cloudtrail', 'aws-docs.json').toString())).toBe('cloudtrail');
    expect(sniffFormat(fixture('alb').toString())).toBe('alb');
    expect(sniffFormat(fixture('nlb').toString())).toBe('nlb');
    expect(sniffFormat(fixture('elb_classic').toString())).toBe('elb_classic');
    expect(sniffFormat('{"hello":"world"}')).toBeUndefined();
    expect(
      sniffFormat('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326'),
    ).toBeUndefined();
  });
});

describe('aws_logs parser', () => {
  const parser = new AwsLogsParser();

  it('reads gzip objects whose key says nothing by sniffing, without losing the sniffed bytes', async () => {
    const lines = Array.from({ length: 400 }, () => fixture('alb').toString()).join('');
    const r = await runParser(parser, s3Item(gzipSync(lines), { key: 'incoming/blob', chunk: 1000 }));
    expect(r.error).toBeUndefined();
    expect(r.drafts).toHaveLength(2800);
    const ct = await runParser(parser, s3Item(fixture('cloudtrail', 'aws-docs.json'), { key: 'x' }));
    expect(ct.drafts).toHaveLength(3);
  });

  it("hands over the chosen format's chunks, by key and by sniffing alike", async () => {
    const lines = Array.from({ length: 400 }, () => fixture('alb').toString()).join('');
    const ctx = { limits: defaultLimits, reject: async () => {} };
    for (const key of ['incoming/blob', ALB_KEY]) {
      const chunks: DraftChunk[] = [];
      for await (const c of parser.parseChunks(s3Item(lines, { key, chunk: 8192 }), ctx)) chunks.push(c);
      expect(chunks.every(isDraftList), key).toBe(true);
      expect(chunks.length, key).toBeGreaterThan(1);
      expect(chunks.flat(), key).toHaveLength(2800);
    }
  });

  it('dead-letters an unknown format instead of guessing', async () => {
    const r = await runParser(
      parser,
      s3Item('date,user,action\n2024-01-01,bob,login\n', { key: 'exports/a.csv' }),
    );
    expect(r.drafts).toEqual([]);
    expect(r.error).toBeInstanceOf(ParseError);
    expect(r.error!.message).toMatch(
      /^unknown log format: the key matches no AWS log file layout and the content \(starting "date,user,action/,
    );
  });

  it('reads files dropped in a folder (inbox source) by their file name', async () => {
    const path =
      '/srv/aws-logs/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2k4qfb2n.log.gz';
    const item = s3Item(gzipSync(fixture('alb')));
    const fileItem = { ...item, origin: { source: 'drop', type: 'file', ref: path, attrs: { size: 1 } } };
    const r = await runParser(parser, fileItem);
    expect(r.error).toBeUndefined();
    expect(r.drafts.map((d) => d.dataset)).toEqual(Array(7).fill('aws.alb'));
    expect(r.drafts[0]!.idParts).toEqual([path, 1]);
  });

  it('refuses a zero-byte object', async () => {
    const r = await runParser(parser, s3Item('', { key: 'incoming/empty' }));
    expect(r.error?.message).toBe('object is empty (0 bytes): no log format to read');
  });

  it('refuses Lambda events that open like a CloudTrail file ({"Records":[…) instead of reading them as CloudTrail', async () => {
    for (const [source, name] of [
      ['kinesis', 'aws-docs'],
      ['s3', 's3-put'],
      ['s3', 'sqs-s3'],
      ['s3', 'sns-s3'],
    ] as const) {
      const text = JSON.stringify(loadEvent(source, name));
      expect(sniffFormat(text), `${source}/${name}`).toBeUndefined();
      const r = await runParser(parser, s3Item(text, { key: `events/${name}.json` }));
      expect(r.drafts).toEqual([]);
      expect(r.error?.message).toMatch(/^unknown log format:/);
    }
    expect(sniffFormat(fixture('cloudtrail', 'insights.json').toString())).toBe('cloudtrail');
  });

  it('reads a Firehose archive of CloudWatch Logs: messages back to back in multi-member gzip', async () => {
    const docs = readFileSync(
      join(import.meta.dirname, '../cloudwatch_logs/fixtures/aws-docs-data.b64'),
      'utf8',
    );
    const first = gunzipSync(Buffer.from(docs, 'base64')).toString('utf8');
    const a = JSON.stringify(subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 }));
    const b = JSON.stringify(subscriptionMessage({ kind: 'vpc', count: 2, start: 1_764_000_100_000 }));
    // Firehose appends each record's bytes as they are, and may concatenate gzip members.
    const object = Buffer.concat([gzipSync(first + a), gzipSync(b)]);
    const key =
      'cwlogs/2026/11/25/10/central-archive-1-2026-11-25-10-00-00-9a1b2c3d-1e2f-4a5b-8c9d-0e1f2a3b4c5d.gz';
    const r = await runParser(parser, s3Item(object, { key, chunk: 50 }));
    expect(r.error).toBeUndefined();
    expect(r.rejected).toEqual([]);
    expect(r.drafts.map((d) => d.dataset)).toEqual(Array(7).fill('aws.cloudwatch_logs'));
    expect(r.drafts.slice(0, 2).map((d) => d.doc.message)).toEqual([
      '[ERROR] First test message',
      '[ERROR] Second test message',
    ]);
  });

  it('sets aside one bad message of an archive, naming its index and byte offset, and reads the rest', async () => {
    const a = JSON.stringify(subscriptionMessage({ kind: 'app', count: 2, start: 1_764_000_000_000 }));
    const bad = '{"messageType":"DATA_MESSAGE","owner":"123456789012"}';
    const object = gzipSync(`${a}${bad}\n${a}`);
    const r = await runParser(parser, s3Item(object, { key: 'cwlogs/2026/11/25/10/archive.gz' }));
    expect(r.error).toBeUndefined();
    expect(r.drafts).toHaveLength(4);
    expect(r.rejected.map((x) => x.ref)).toEqual([`message 1 at uncompressed byte ${a.length}`]);
    expect(r.rejected[0]!.error.message).toMatch(/is not a CloudWatch Logs subscription message: logGroup/);
  });

  it('names the bucket, key and line or byte offset of bad input in the dead letter', async () => {
    const sink = new MemorySink();
    const p = testPipeline({ parser, sinks: [sink] });
    const albKey =
      'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2k4qfb2n.log.gz';
    const lines = fixture('alb').toString().split('\n');
    lines.splice(2, 0, 'http this is not an ALB line');
    const trailKey =
      'AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz';
    const trail = gzipUpTo(fixture('cloudtrail', 'aws-docs.json'));
    const damaged = Buffer.concat([trail.subarray(0, trail.length - 40), Buffer.alloc(64, 0xff)]);
    await runBatch(
      {
        source: 'test',
        items: [
          s3Item(gzipSync(lines.join('\n')), { key: albKey }),
          s3Item(damaged, { key: trailKey, chunk: 200 }),
        ],
      },
      p,
    );
    const errors = p.deadLetter.entries.map((d) => d.error);
    expect(errors[0]).toMatch(
      new RegExp(`^parse s3://logs-bucket/${albKey.replaceAll('.', '\\.')} line 3: `),
    );
    expect(errors[1]).toMatch(
      new RegExp(
        `^parse s3://logs-bucket/${trailKey.replaceAll('.', '\\.')}: .*gzip is damaged .*compressed byte \\d+`,
      ),
    );
  });
});
