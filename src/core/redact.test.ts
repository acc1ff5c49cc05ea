import { describe, expect, it } from 'vitest';
import { Secret } from '../config/secrets.js';
import { redactString, redactStrings } from './redact.js';

describe('redactString', () => {
  it('strips URL userinfo but keeps scheme, host and path', () => {
    expect(redactString('https://admin:Pa55word@search.internal:9200/_bulk')).toBe(
      'https://[redacted]@search.internal:9200/_bulk',
    );
    expect(redactString('cannot reach http://ghp_abc123@git.example.com/x')).toBe(
      'cannot reach http://[redacted]@git.example.com/x',
    );
  });

  it('strips secret-looking query parameters and keeps the others', () => {
    // A presigned S3 URL as the AWS documentation shows it.
    const presigned =
      'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const out = redactString(presigned);
    expect(out).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(out).not.toContain('aeeed9bb');
    expect(out).toContain('X-Amz-Expires=86400');
    expect(out).toContain('X-Amz-Credential=[redacted]&');
    expect(
      redactString('https://h/x?access_token=t1&api_key=k2&sig=s3&password=p4&client_secret=c5&page=2#f'),
    ).toBe(
      'https://h/x?access_token=[redacted]&api_key=[redacted]&sig=[redacted]&password=[redacted]&client_secret=[redacted]&page=2#f',
    );
  });

  it('does not take an ordinary word ending in "key" for a secret', () => {
    expect(redactString('https://h/x?monkey=1&keyboard=2')).toBe('https://h/x?monkey=1&keyboard=2');
  });

  it('strips name=value secrets in plain text and SigV4 headers', () => {
    expect(redactString('login failed token=abc123 user=bob')).toBe('login failed token=[redacted] user=bob');
    expect(
      redactString(
        'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=5d672d79',
      ),
    ).toBe('AWS4-HMAC-SHA256 Credential=[redacted], SignedHeaders=host, Signature=[redacted]');
  });

  it('strips bearer, basic and bare authorization credentials', () => {
    expect(redactString('peer said: Authorization: Bearer eyJhbGciOi.x.y rejected')).toBe(
      'peer said: Authorization: Bearer [redacted] rejected',
    );
    expect(redactString('Basic dXNlcjpwYXNzd29yZA==')).toBe('Basic [redacted]');
    expect(redactString('{"authorization":"DUO-SIG-abcdef"}')).toBe('{"authorization":"[redacted]"}');
    // Prose is left alone.
    expect(redactString('Basic auth failed')).toBe('Basic auth failed');
  });

  it('is idempotent and leaves harmless text unchanged', () => {
    const once = redactString('https://u:p@h/?token=x Bearer y');
    expect(redactString(once)).toBe(once);
    expect(redactString('parse s3://bucket/key.gz line 3: not JSON')).toBe(
      'parse s3://bucket/key.gz line 3: not JSON',
    );
  });
});

describe('redactStrings', () => {
  it('redacts every string in a structure, keeps secrets hidden and buffers intact', () => {
    const buf = Buffer.from('raw');
    const out = redactStrings({
      endpoint: 'https://user:PASSWORD@host',
      list: ['x?token=1'],
      secret: new Secret('hunter2'),
      err: new Error('GET https://a:b@c failed'),
      n: 3,
      buf,
    }) as Record<string, unknown>;
    expect((out.err as { stack: string }).stack).toMatch(
      /^Error: GET https:\/\/\[redacted\]@c failed\n\s+at /,
    );
    delete (out.err as { stack?: string }).stack;
    expect(out).toEqual({
      endpoint: 'https://[redacted]@host',
      list: ['x?token=[redacted]'],
      secret: '[redacted]',
      err: { type: 'Error', message: 'GET https://[redacted]@c failed' },
      n: 3,
      buf,
    });
  });
});
