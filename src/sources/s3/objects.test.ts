import { describe, expect, it } from 'vitest';
import { isLogferryError } from '../../core/errors.js';
import { parseS3Url } from '../../runtimes/cli/backfill.js';
import { classifyGetError, parserFor } from './objects.js';
import { s3SqsSourceSchema } from './schema.js';

const ref = { bucket: 'my-alb-logs', key: 'legacy/2024/01/01/a.log' };

describe('S3 object reading', () => {
  it('picks the override with the longest matching prefix, bucket-specific first', () => {
    const formats = [
      { prefix: '', parser: 'nlb' },
      { bucket: 'my-alb-logs', prefix: 'legacy/', parser: 'alb' },
      { bucket: 'other', prefix: 'legacy/2024/', parser: 'cloudtrail' },
    ];
    expect(parserFor(ref, formats)).toBe('alb');
    expect(parserFor({ bucket: 'x', key: 'y' }, formats)).toBe('nlb');
    expect(parserFor(ref, [])).toBeUndefined();
  });

  it('dead-letters NoSuchKey and AccessDenied, retries the rest', () => {
    const noKey = classifyGetError(
      Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }),
      ref,
    );
    expect(isLogferryError(noKey) && noKey.retryable).toBe(false);
    expect(noKey.message).toBe(
      's3://my-alb-logs/legacy/2024/01/01/a.log no longer exists (NoSuchKey): it was deleted before it was read',
    );
    const denied = classifyGetError(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      ref,
    );
    expect(isLogferryError(denied) && denied.retryable).toBe(false);
    expect(denied.message).toMatch(
      /^access denied reading s3:\/\/my-alb-logs\/legacy\/2024\/01\/01\/a.log \(AccessDenied\)/,
    );
    const slow = classifyGetError(
      Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }),
      ref,
    );
    expect(isLogferryError(slow) && slow.retryable).toBe(true);
    expect(slow.message).toBe(
      'GetObject s3://my-alb-logs/legacy/2024/01/01/a.log failed (SlowDown: Please reduce your request rate.)',
    );
  });

  it('has working defaults and parses backfill URLs', () => {
    const cfg = s3SqsSourceSchema.parse({ type: 's3_sqs', name: 'aws-logs' });
    expect(cfg).toMatchObject({
      parser: 'aws_logs',
      wait_time: 20_000,
      visibility_timeout: 300_000,
      formats: [],
    });
    expect(parseS3Url('s3://my-bucket/AWSLogs/1/')).toEqual({ bucket: 'my-bucket', prefix: 'AWSLogs/1/' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Url('https://x/y')).toThrow("'https://x/y' is not an s3://bucket/prefix URL");
  });
});
