import { createHmac, timingSafeEqual } from 'node:crypto';
import { LoopbackFake, type Received } from './loopback.js';

/**
 * A receiver of signed logferry webhooks that checks what a careful receiver would: JSON body,
 * `x-logferry-timestamp` within 5 minutes, `x-logferry-signature: sha256=<hex HMAC of
 * "<timestamp>.<body>">` computed independently with the shared secret (401 otherwise).
 */
export class FakeWebhookReceiver extends LoopbackFake {
  constructor(
    private readonly secret: string,
    readonly path = '/hooks/logferry/tok_9f8e7d6c5b4a',
  ) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}${this.path}`;
  }

  get alerts(): Record<string, unknown>[] {
    return this.received.map((r) => (JSON.parse(r.body) as { alert: Record<string, unknown> }).alert);
  }

  protected handle(r: Received) {
    if (r.path !== this.path) return { status: 404, body: 'not found' };
    if (!String(r.headers['content-type'] ?? '').startsWith('application/json'))
      return { status: 415, body: 'expected application/json' };
    const ts = String(r.headers['x-logferry-timestamp'] ?? '');
    if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300)
      return { status: 401, body: 'stale or missing timestamp' };
    const want = Buffer.from(
      `sha256=${createHmac('sha256', this.secret).update(`${ts}.${r.body}`).digest('hex')}`,
    );
    const got = Buffer.from(String(r.headers['x-logferry-signature'] ?? ''));
    if (got.length !== want.length || !timingSafeEqual(got, want))
      return { status: 401, body: 'bad signature' };
    try {
      const body = JSON.parse(r.body) as { type?: unknown; alert?: unknown };
      if (body.type !== 'logferry.alert' || typeof body.alert !== 'object')
        return { status: 400, body: 'not an alert' };
    } catch {
      return { status: 400, body: 'invalid JSON' };
    }
    return { status: 202, body: 'accepted' };
  }
}
