import type { Alert } from '../core/contracts.js';

export interface AlertFailure {
  /** Index into the alerts passed to `send`. */
  index: number;
  retryable: boolean;
  error: Error;
  /** The destination asked to wait this long (HTTP Retry-After). */
  retryAfterMs?: number;
}

/** Where alerts go (SNS, Slack, a webhook, a sink). Same contract as a Sink: report, never throw per alert. */
export interface AlertOutput {
  readonly name: string;
  send(alerts: readonly Alert[]): Promise<AlertFailure[]>;
  close(): Promise<void>;
}
