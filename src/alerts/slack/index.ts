import { resolveSecret, type Secret } from '../../config/secrets.js';
import type { Sink } from '../../core/component.js';
import type { Alert, Deps } from '../../core/contracts.js';
import { clearTextWarning } from '../../core/net.js';
import { human, round } from '../format.js';
import { post } from '../http.js';
import type { AlertFailure, AlertOutput } from '../types.js';
import type { SlackAlertConfig } from './schema.js';

const ICON: Record<Alert['severity'], string> = {
  info: ':information_source:',
  low: ':large_blue_circle:',
  medium: ':large_yellow_circle:',
  high: ':large_orange_circle:',
  critical: ':red_circle:',
};

/** Slack's mrkdwn needs &, < and > escaped (they start links and mentions). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** An incoming-webhook payload as Slack documents it: `text` (notification fallback) + Block Kit blocks. */
export function slackPayload(a: Alert): Record<string, unknown> {
  const sev = a.severity[0]!.toUpperCase() + a.severity.slice(1);
  const fields = [
    `*Severity*\n${ICON[a.severity]} ${sev}`,
    `*When*\n${a.time}`,
    ...(a.who ? [`*Who*\n${escapeMrkdwn(a.who)}`] : []),
    ...(a.where ? [`*Where*\n${escapeMrkdwn(a.where)}`] : []),
    `*Rule*\n\`${escapeMrkdwn(a.rule.id)}\``,
    ...(a.aggregate
      ? [`*Count*\n${a.aggregate.function} ${round(a.aggregate.value)} in ${human(a.aggregate.window_ms)}`]
      : []),
    ...(a.suppressed > 0 ? [`*Repeats*\n${a.suppressed} suppressed`] : []),
  ].map((text) => ({ type: 'mrkdwn', text: cut(text, 2000) }));
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${sev}: ${a.title}`, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(escapeMrkdwn(a.summary), 3000) } },
    { type: 'section', fields: fields.slice(0, 10) },
  ];
  if (a.link)
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', text: { type: 'plain_text', text: 'Open event' }, url: a.link.slice(0, 3000) },
      ],
    });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: cut(
          escapeMrkdwn(
            `logferry · ${a.rule.tags.join(' ') || 'no tags'} · event ${a.event_id} · ${a.origin}`,
          ),
          2000,
        ),
      },
    ],
  });
  return { text: cut(`${sev}: ${a.summary}`, 3000), blocks };
}

/** Posts each alert to a Slack incoming webhook. */
export class SlackAlertOutput implements AlertOutput {
  constructor(
    readonly name: string,
    private readonly url: Secret,
    private readonly timeoutMs: number,
  ) {}

  async send(alerts: readonly Alert[]): Promise<AlertFailure[]> {
    const failures: AlertFailure[] = [];
    // One at a time: Slack allows about one message per second per webhook.
    for (const [index, a] of alerts.entries()) {
      const f = await post(this.name, this.url.reveal(), JSON.stringify(slackPayload(a)), {}, this.timeoutMs);
      if (f) failures.push({ index, ...f });
    }
    return failures;
  }

  async close(): Promise<void> {}
}

export async function create(
  cfg: SlackAlertConfig,
  _sinks?: Map<string, Sink>,
  deps?: Pick<Deps, 'log'>,
): Promise<AlertOutput> {
  const url = await resolveSecret(cfg.webhook_url);
  const clearText = clearTextWarning(cfg.name, url.reveal());
  if (clearText) deps?.log.warn({ output: cfg.name }, clearText);
  return new SlackAlertOutput(cfg.name, url, cfg.timeout);
}
