import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { describeError, SourceError } from '../core/errors.js';
import { createLogger, memoryLogger } from './log.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe('logs and error lines never print credentials found in values', () => {
  it('redacts messages and fields of the JSON logger, whatever the key', () => {
    const { lines, stream } = capture();
    const log = createLogger('info', stream);
    log.warn(
      { endpoint: 'https://user:PASSWORD@search:9200', nested: { url: 'https://h/x?api_key=k123' } },
      'cannot reach https://user:PASSWORD@search:9200 with Bearer abc.def',
    );
    const text = lines.join('');
    expect(text).not.toMatch(/PASSWORD|k123|abc\.def/);
    expect(JSON.parse(text)).toMatchObject({
      msg: 'cannot reach https://[redacted]@search:9200 with Bearer [redacted]',
      endpoint: 'https://[redacted]@search:9200',
      nested: { url: 'https://h/x?api_key=[redacted]' },
    });
  });

  it('redacts the in-memory logger the CLI prints from', () => {
    const log = memoryLogger();
    log.error({ ref: 'https://a:b@h' }, 'failed: https://a:b@h');
    expect(log.entries[0]).toEqual({
      level: 'error',
      msg: 'failed: https://[redacted]@h',
      obj: { ref: 'https://[redacted]@h' },
    });
  });

  it('redacts the one-line error description used by status, dead letters and the CLI', () => {
    expect(describeError(new SourceError('GET https://ikey:skey@api-x.duosecurity.com?sig=s1 failed'))).toBe(
      'source: GET https://[redacted]@api-x.duosecurity.com?sig=[redacted] failed',
    );
  });
});
