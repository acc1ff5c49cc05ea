import { request } from 'node:http';
import duoSig from '@duosecurity/duo_api/lib/duo_sig.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvents } from './duo-events.js';
import { FakeDuo } from './duo-fake.js';

const PATH = '/admin/v2/logs/authentication';
const okParams = () => ({
  mintime: String(Date.now() - 3_600_000),
  maxtime: String(Date.now() - 130_000),
  limit: '1000',
  sort: 'ts:asc',
});

const fake = new FakeDuo();
const skewed = new FakeDuo({ now: () => Date.now() - 6 * 60_000 });
const endpoints = new Map<FakeDuo, string>();
beforeAll(async () => {
  for (const f of [fake, skewed]) endpoints.set(f, await f.listen());
  fake.add('authentication', makeEvents('authentication', 3, Date.now() - 600_000, 1000));
});
afterAll(async () => {
  await fake.close();
  await skewed.close();
});

interface Call {
  params?: Record<string, string>;
  /** Sent instead of what was signed: a request changed in transit. */
  sendParams?: Record<string, string>;
  signHost?: string;
  v2?: boolean;
  auth?: false;
}

/** Signs with the official library (the fake checks with its own code), sends with a chosen Host. */
function call(f: FakeDuo, c: Call = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const params = c.params ?? okParams();
  const date = new Date().toUTCString();
  const host = c.signHost ?? f.host;
  const authorization = c.v2
    ? duoSig.sign(f.ikey, f.skey, 'GET', host, PATH, params, date)
    : duoSig.signV5(f.ikey, f.skey, 'GET', host, PATH, params, date, '');
  const url = new URL(endpoints.get(f)!);
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host: url.hostname,
        port: url.port,
        path: `${PATH}?${duoSig._canonParams(c.sendParams ?? params)}`,
        headers: { Host: f.host, Date: date, ...(c.auth === false ? {} : { Authorization: authorization }) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      },
    );
    r.on('error', reject);
    r.end();
  });
}

const BAD_SIG = { code: 40103, message: 'Invalid signature in request credentials', stat: 'FAIL' };

describe('fake Duo Admin API', () => {
  it('accepts v5 and v2 signatures over the canonical request', async () => {
    const v5 = await call(fake);
    expect(v5.status).toBe(200);
    expect(v5.body.stat).toBe('OK');
    expect((v5.body.response as { authlogs: unknown[] }).authlogs).toHaveLength(3);
    expect((await call(fake, { v2: true })).status).toBe(200);
  });

  it("answers Duo's 401 body for a changed parameter, a wrong host or no credentials", async () => {
    const changed = await call(fake, { sendParams: { ...okParams(), limit: '999' } });
    expect(changed).toEqual({ status: 401, body: BAD_SIG });
    expect(await call(fake, { signHost: 'api-other.duosecurity.com' })).toEqual({
      status: 401,
      body: BAD_SIG,
    });
    const none = await call(fake, { auth: false });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe(40101);
  });

  it('rejects a Date header more than five minutes from its clock', async () => {
    const r = await call(skewed);
    expect(r.status).toBe(401);
    expect(r.body.code).toBe(40105);
  });

  it('refuses a maxtime inside the two-minute delay and a limit over 1000', async () => {
    const recent = await call(fake, { params: { ...okParams(), maxtime: String(Date.now() - 60_000) } });
    expect(recent.status).toBe(400);
    expect(recent.body.message_detail).toMatch(/maxtime/);
    const big = await call(fake, { params: { ...okParams(), limit: '1001' } });
    expect(big.status).toBe(400);
    expect(big.body.message_detail).toBe('limit');
  });

  it('answers 429 at the configured rate with a Duo error body', async () => {
    const f = new FakeDuo({ rateLimit: 0.5 });
    endpoints.set(f, await f.listen());
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await call(f)).status);
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    } finally {
      await f.close();
    }
  });
});
