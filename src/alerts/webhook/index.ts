import { createHmac } from 'node:crypto';
import { resolveSecret, type Secret } from '../../config/secrets.js';
import type { Sink } from '../../core/component.js';
import type { Alert, Deps } from '../../core/contracts.js';
import { clearTextWarning } from '../../core/net.js';
import { post } from '../http.js';
import type { AlertFailure, AlertOutput } from '../types.js';
import type { WebhookAlertConfig } from './schema.js';

export const SIGNATURE_HEADER = 'x-logferry-signature';
export const TIMESTAMP_HEADER = 'x-logferry-timestamp';

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: the receiver recomputes it with the shared
 * secret and rejects old timestamps, so a captured request cannot be replayed later.
 */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs each alert as JSON, signed. */
export class WebhookAlertOutput implements AlertOutput {
  constructor(
    readonly name: string,
    private readonly url: Secret,
    private readonly secret: Secret | undefined,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async send(alerts: readonly Alert[]): Promise<AlertFailure[]> {
    const failures: AlertFailure[] = [];
    await Promise.all(
      alerts.map(async (a, index) => {
        const body = JSON.stringify({ type: 'logferry.alert', version: 1, alert: a });
        const ts = String(Math.floor(this.now() / 1000));
        const headers: Record<string, string> = { [TIMESTAMP_HEADER]: ts, 'x-logferry-alert-id': a.id };
        if (this.secret) headers[SIGNATURE_HEADER] = signature(this.secret.reveal(), ts, body);
        const f = await post(this.name, this.url.reveal(), body, headers, this.timeoutMs);
        if (f) failures.push({ index, ...f });
      }),
    );
    return failures;
  }

  async close(): Promise<void> {}
}

export async function create(
  cfg: WebhookAlertConfig,
  _sinks?: Map<string, Sink>,
  deps?: Pick<Deps, 'log'>,
): Promise<AlertOutput> {
  const url = await resolveSecret(cfg.webhook_url);
  for (const warning of outboundWarnings(cfg, url)) deps?.log.warn({ output: cfg.name }, warning);
  return new WebhookAlertOutput(
    cfg.name,
    url,
    cfg.signing_secret === undefined ? undefined : await resolveSecret(cfg.signing_secret),
    cfg.timeout,
  );
}

/** What a receiver or someone on the path could abuse, said once at start-up (the URL itself is a secret). */
export function outboundWarnings(cfg: WebhookAlertConfig, url: Secret): string[] {
  const warnings: string[] = [];
  if (cfg.signing_secret === undefined)
    warnings.push(
      `alert output ${cfg.name}: webhook requests are unsigned; set signing_secret so the receiver can reject forged alerts`,
    );
  const clearText = clearTextWarning(cfg.name, url.reveal());
  if (clearText) warnings.push(clearText);
  return warnings;
}
