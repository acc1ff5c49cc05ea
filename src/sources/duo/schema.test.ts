import { describe, expect, it } from 'vitest';
import { duoSourceSchema } from './schema.js';

const base = {
  type: 'duo',
  name: 'duo',
  host: 'api-1234abcd.duosecurity.com',
  ikey: 'DIWJ8X6AEYOR5OMC6TQ1',
  skey: { env: 'DUO_SKEY' },
};

describe('duo source: where requests may go', () => {
  it('refuses a plain-HTTP endpoint on another machine unless explicitly allowed', () => {
    const r = duoSourceSchema.safeParse({ ...base, endpoint: 'http://duo-proxy.corp.example:8080' });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['endpoint'] });
    expect(r.error!.issues[0]!.message).toMatch(/clear text.*allow_insecure_http: true/);
    expect(
      duoSourceSchema.safeParse({
        ...base,
        endpoint: 'http://duo-proxy.corp.example:8080',
        allow_insecure_http: true,
      }).success,
    ).toBe(true);
  });

  it('accepts https anywhere and http to this machine (the fake server, a local TLS proxy)', () => {
    for (const endpoint of [
      'https://duo-proxy.corp.example',
      'http://127.0.0.1:8443',
      'http://localhost:9',
    ]) {
      expect(duoSourceSchema.safeParse({ ...base, endpoint }).success, endpoint).toBe(true);
    }
  });
});
