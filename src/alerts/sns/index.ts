import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from '../../core/contracts.js';
import { DeliveryError } from '../../core/errors.js';
import { awsClientConfig } from '../../platform/aws.js';
import { alertText, asciiLine } from '../format.js';
import type { AlertFailure, AlertOutput } from '../types.js';
import type { SnsAlertConfig } from './schema.js';

/** SNS caps a message at 256 KiB; the event JSON is cut to leave room for the text. */
const MAX_MESSAGE = 250_000;

/** The email subject: printable ASCII, one line, ≤ 100 characters (SNS rejects anything else). */
export function snsSubject(a: Alert, prefix: string): string {
  return asciiLine(`${prefix ? `${prefix} ` : ''}${a.severity.toUpperCase()}: ${a.summary}`, 100);
}

export function snsMessage(a: Alert, withJson: boolean): string {
  const text = alertText(a);
  if (!withJson) return text;
  let json = JSON.stringify(a.event, null, 2);
  if (json.length > MAX_MESSAGE - text.length - 100)
    json = `${json.slice(0, MAX_MESSAGE - text.length - 200)}\n… (cut)`;
  return `${text}\n\nEvent (JSON):\n${json}\n`;
}

/** Publishes each alert to an SNS topic: email subscribers read it, SQS/Lambda subscribers parse it. */
export class SnsAlertOutput implements AlertOutput {
  constructor(
    readonly name: string,
    private readonly client: SNSClient,
    private readonly cfg: SnsAlertConfig,
  ) {}

  async send(alerts: readonly Alert[]): Promise<AlertFailure[]> {
    const failures: AlertFailure[] = [];
    await Promise.all(
      alerts.map(async (a, index) => {
        const attrs: Record<string, { DataType: string; StringValue: string }> = {
          severity: { DataType: 'String', StringValue: a.severity },
          rule_id: { DataType: 'String', StringValue: a.rule.id },
          alert_id: { DataType: 'String', StringValue: a.id },
        };
        if (this.cfg.event_json !== 'body')
          attrs.event_json = { DataType: 'String', StringValue: JSON.stringify(a.event).slice(0, 200_000) };
        try {
          await this.client.send(
            new PublishCommand({
              TopicArn: this.cfg.topic_arn,
              Subject: snsSubject(a, this.cfg.subject_prefix),
              Message: snsMessage(a, this.cfg.event_json !== 'attribute'),
              MessageAttributes: attrs,
            }),
          );
        } catch (e) {
          const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
          const status = err.$metadata?.httpStatusCode;
          const retryable =
            !!err.$retryable ||
            status === undefined ||
            status >= 500 ||
            status === 429 ||
            /Throttl/.test(err.name ?? '');
          failures.push({
            index,
            retryable,
            error: new DeliveryError(
              `${this.name}: SNS Publish failed (${err.name ?? 'Error'}${status ? ` ${status}` : ''})`,
              {
                sink: this.name,
                retryable,
                cause: e,
              },
            ),
          });
        }
      }),
    );
    return failures;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export function create(cfg: SnsAlertConfig): AlertOutput {
  return new SnsAlertOutput(cfg.name, new SNSClient({ ...awsClientConfig(cfg), maxAttempts: 1 }), cfg);
}
