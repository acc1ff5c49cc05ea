import type { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { awsClientConfig } from '../../core/aws.js';
import { isAcked } from '../../core/batch.js';
import type { Source, SourceContext } from '../../core/component.js';
import { ConfigError, describeError } from '../../core/errors.js';
import { retryDelay, sleep, sourceRetry } from '../../core/retry.js';
import { messageWork } from './messages.js';
import { s3ClientFor } from './objects.js';
import type { S3SqsSourceConfig } from './schema.js';

export { messageWork, s3ClientFor };

/**
 * Long-polls an SQS queue that S3 notifies (directly, through SNS or EventBridge), reads each
 * announced object as a stream and deletes a message only once every sink has every event of
 * every object in it (or the object is dead-lettered). While a big object is read, the
 * messages' visibility is renewed so no other reader picks them up.
 */
export class S3SqsSource implements Source {
  readonly name: string;
  private readonly sqs: SQSClient;
  private readonly s3: S3Client;
  private stats = { messages: 0, objects: 0, objects_failed: 0, dead_lettered: 0, in_flight: 0 };

  constructor(
    private readonly cfg: S3SqsSourceConfig,
    clients: { sqs?: SQSClient; s3?: S3Client } = {},
  ) {
    this.name = cfg.name;
    this.sqs = clients.sqs ?? new SQSClient(awsClientConfig(cfg.aws));
    this.s3 = clients.s3 ?? s3ClientFor(cfg);
  }

  status() {
    return { queue: this.cfg.queue_url, ...this.stats };
  }

  async run(ctx: SourceContext): Promise<void> {
    const queue = this.cfg.queue_url;
    if (!queue) throw new ConfigError(`source '${this.name}': the daemon needs queue_url to poll`);
    let failures = 0;
    while (!ctx.signal.aborted) {
      let messages: Message[];
      try {
        const res = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue,
            MaxNumberOfMessages: this.cfg.max_messages,
            WaitTimeSeconds: Math.min(20, Math.round(this.cfg.wait_time / 1000)),
            VisibilityTimeout: Math.ceil(this.cfg.visibility_timeout / 1000),
          }),
          { abortSignal: ctx.signal },
        );
        messages = res.Messages ?? [];
        failures = 0;
      } catch (e) {
        if (ctx.signal.aborted) break;
        const delay = retryDelay(++failures, { ...sourceRetry, floorMs: 0 });
        ctx.log.warn({ source: this.name, retry_in_ms: delay }, `ReceiveMessage failed: ${describeError(e)}`);
        await sleep(delay, ctx.signal);
        continue;
      }
      if (messages.length) await this.handle(messages, ctx);
    }
  }

  /** Processes one received batch to the end (also after an abort: in-flight work is finished). */
  async handle(messages: Message[], ctx: SourceContext): Promise<void> {
    const queue = this.cfg.queue_url!;
    this.stats.messages += messages.length;
    const receipts = new Map(messages.map((m) => [m.MessageId!, m.ReceiptHandle!]));
    const work = messageWork(
      messages.map((m) => ({ id: m.MessageId!, body: m.Body ?? '' })),
      this.cfg,
      this.s3,
    );
    const items = work.flatMap((w) => w.items);
    const done = new Set(work.filter((w) => w.items.length === 0).map((w) => w.id));
    for (const w of work)
      if (w.note) ctx.log.debug({ source: this.name, message: w.id }, `skipped: ${w.note}`);
    const failed = new Set<string>();
    if (items.length) {
      this.stats.in_flight = items.length;
      const keepAlive = this.extendWhileBusy(queue, receipts, ctx);
      try {
        const result = await ctx.process({ source: this.name, items });
        for (const r of result.items) {
          const msgId = r.ackId.slice(0, r.ackId.lastIndexOf('/'));
          this.stats.objects++;
          if (r.status === 'dead-lettered') this.stats.dead_lettered++;
          if (!isAcked(r)) {
            this.stats.objects_failed++;
            failed.add(msgId);
          }
        }
      } finally {
        keepAlive.stop();
        this.stats.in_flight = 0;
      }
      for (const w of work) if (w.items.length && !failed.has(w.id)) done.add(w.id);
    }
    await this.deleteMessages(
      queue,
      [...done].map((id) => ({ id, receipt: receipts.get(id)! })),
      ctx,
    );
    if (failed.size) {
      // Back on the queue after retry_delay rather than the full visibility timeout.
      await this.changeVisibility(
        queue,
        [...failed].map((id) => ({ id, receipt: receipts.get(id)! })),
        Math.ceil(this.cfg.retry_delay / 1000),
        ctx,
      );
    }
  }

  private extendWhileBusy(
    queue: string,
    receipts: Map<string, string>,
    ctx: SourceContext,
  ): { stop(): void } {
    const seconds = Math.ceil(this.cfg.visibility_timeout / 1000);
    const timer = setInterval(
      () => {
        void this.changeVisibility(
          queue,
          [...receipts].map(([id, receipt]) => ({ id, receipt })),
          seconds,
          ctx,
        );
      },
      Math.max(1000, this.cfg.visibility_timeout / 2),
    );
    return { stop: () => clearInterval(timer) };
  }

  private async changeVisibility(
    queue: string,
    entries: { id: string; receipt: string }[],
    seconds: number,
    ctx: SourceContext,
  ): Promise<void> {
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queue,
            Entries: chunk.map((e, n) => ({
              Id: String(n),
              ReceiptHandle: e.receipt,
              VisibilityTimeout: seconds,
            })),
          }),
        );
      } catch (e) {
        ctx.log.warn({ source: this.name }, `ChangeMessageVisibility failed: ${describeError(e)}`);
      }
    }
  }

  private async deleteMessages(
    queue: string,
    entries: { id: string; receipt: string }[],
    ctx: SourceContext,
  ): Promise<void> {
    for (let i = 0; i < entries.length; i += 10) {
      const chunk = entries.slice(i, i + 10);
      try {
        const res = await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue,
            Entries: chunk.map((e, n) => ({ Id: String(n), ReceiptHandle: e.receipt })),
          }),
        );
        for (const f of res.Failed ?? [])
          ctx.log.warn(
            { source: this.name },
            `DeleteMessage failed for ${chunk[Number(f.Id)]?.id}: ${f.Message}`,
          );
      } catch (e) {
        // The messages come back and are read again; event ids make that harmless.
        ctx.log.warn({ source: this.name }, `DeleteMessageBatch failed: ${describeError(e)}`);
      }
    }
  }
}

export function create(cfg: S3SqsSourceConfig): Source {
  return new S3SqsSource(cfg);
}
