import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redact, resolveSecret, Secret } from './secrets.js';

describe('secrets', () => {
  it('never shows a secret when printed, logged or serialized', () => {
    const s = new Secret('hunter2');
    expect(String(s)).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect({ s })).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });

  it('resolves from the environment and names the variable (not the value) when missing', async () => {
    expect((await resolveSecret({ env: 'K' }, { K: 'v' })).reveal()).toBe('v');
    await expect(resolveSecret({ env: 'MISSING_SKEY' }, {})).rejects.toThrow(
      'secret from env MISSING_SKEY: the variable is not set',
    );
  });

  it('redacts secret-looking keys in status output but keeps references readable', () => {
    const out = redact({
      skey: 'abc',
      nested: { webhook_url: 'https://hooks.slack.com/services/T/B/X', host: 'api-1.duosecurity.com' },
      token: { env: 'TOK' },
    });
    expect(out).toEqual({
      skey: '[redacted]',
      nested: { webhook_url: '[redacted]', host: 'api-1.duosecurity.com' },
      token: { env: 'TOK' },
    });
  });
});
