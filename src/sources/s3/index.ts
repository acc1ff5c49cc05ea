import type { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type ItemResult, isAcked } from '../../core/batch.js';
import type { Logger, Source, SourceContext } from '../../core/component.js';
import { ConfigError, describeError } from '../../core/errors.js';
import { sourceRetry } from '../../core/retry.js';
import { awsClientConfig } from '../../platform/aws.js';
import { UnitRunner } from '../../runtimes/runner/runner.js';
import type { PassEnd, SettledRead, WorkUnit } from '../../runtimes/runner/unit.js';
import { type MessageWork, messageWork } from './messages.js';
import { s3ClientFor } from './objects.js';
import type { S3SqsSourceConfig } from './schema.js';

export { messageWork, s3ClientFor };

interface Receipt {
  id: string;
  receipt: string;
}

/** What one delivered slice settles on the queue: messages to delete, and messages to show again soon. */
export interface QueueSettlement {
  done: Receipt[];
  failed: Receipt[];
}

/**
 * Long-polls an SQS queue that S3 notifies (directly, through SNS or EventBridge), reads each
 * announced object as a stream and deletes a message only once every sink has every event of
 * every object in it (or the object is dead-lettered). While a big object is read, the
 * messages' visibility is renewed so no other reader picks them up. The queue is one work unit:
 * messages do not wait for each other, so a failed one goes back on the queue (after
 * `retry_delay`) while the others are deleted.
 */
export class S3SqsSource implements Source {
  readonly name: string;
  private readonly sqs: SQSClient;
  private readonly s3: S3Client;
  private runner: UnitRunner<QueueSettlement> | undefined;
  readonly stats = { messages: 0, objects: 0, objects_failed: 0, dead_lettered: 0, in_flight: 0 };

  constructor(
    readonly cfg: S3SqsSourceConfig,
    clients: { sqs?: SQSClient; s3?: S3Client } = {},
  ) {
    this.name = cfg.name;
    this.sqs = clients.sqs ?? new SQSClient(awsClientConfig(cfg.aws));
    this.s3 = clients.s3 ?? s3ClientFor(cfg);
  }

  status() {
    return { queue: this.cfg.queue_url, ...this.stats };
  }

  units(): UnitRunner<QueueSettlement>[] {
    return this.runner ? [this.runner] : [];
  }

  async run(ctx: SourceContext): Promise<void> {
    const queue = this.cfg.queue_url;
    if (!queue) throw new ConfigError(`source '${this.name}': the daemon needs queue_url to poll`);
    this.runner = new UnitRunner(new QueueUnit(this, queue, ctx.log), {
      process: ctx.process,
      committed: ctx.committed,
      signal: ctx.signal,
      log: ctx.log,
      // ReceiveMessage long-polls: an empty answer has already waited.
      intervalMs: 0,
      retry: { ...sourceRetry, floorMs: 0 },
    });
    await this.runner.run();
  }

  /** One long poll; an abort while waiting is an empty answer. */
  async receive(queue: string, signal: AbortSignal): Promise<Message[]> {
    try {
      const res = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue,
          MaxNumberOfMessages: this.cfg.max_messages,
          WaitTimeSeconds: Math.min(20, Math.round(this.cfg.wait_time / 1000)),
          VisibilityTimeout: Math.ceil(this.cfg.visibility_timeout / 1000),
        }),
        { abortSignal: signal },
      );
      return res.Messages ?? [];
    } catch (e) {
      if (signal.aborted) return [];
      throw e;
    }
  }

  work(messages: Message[]): MessageWork[] {
    return messageWork(
      messages.map((m) => ({ id: m.MessageId!, body: m.Body ?? '' })),
      this.cfg,
      this.s3,
    );
  }

  /** Deletes what is done; what failed shows up again after retry_delay rather than the full visibility timeout. */
  async settle(queue: string, s: QueueSettlement, log: Logger): Promise<void> {
    await this.deleteMessages(queue, s.done, log);
    if (s.failed.length)
      await this.changeVisibility(queue, s.failed, Math.ceil(this.cfg.retry_delay / 1000), log);
  }

  /** Messages received but never delivered (the runner stopped): visible again at once, for the next reader. */
  release(queue: string, entries: Receipt[], log: Logger): Promise<void> {
    return this.changeVisibility(queue, entries, 0, log);
  }

  extendWhileBusy(queue: string, receipts: Receipt[], log: Logger): { stop(): void } {
    const seconds = Math.ceil(this.cfg.visibility_timeout / 1000);
    const timer = setInterval(
      () => {
        void this.changeVisibility(queue, receipts, seconds, log);
      },
      Math.max(1000, this.cfg.visibility_timeout / 2),
    );
    return { stop: () => clearInterval(timer) };
  }

  private async changeVisibility(
    queue: string,
    entries: Receipt[],
    seconds: number,
    log: Logger,
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
        log.warn({ source: this.name }, `ChangeMessageVisibility failed: ${describeError(e)}`);
      }
    }
  }

  private async deleteMessages(queue: string, entries: Receipt[], log: Logger): Promise<void> {
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
          log.warn(
            { source: this.name },
            `DeleteMessage failed for ${chunk[Number(f.Id)]?.id}: ${f.Message}`,
          );
      } catch (e) {
        // The messages come back and are read again; event ids make that harmless.
        log.warn({ source: this.name }, `DeleteMessageBatch failed: ${describeError(e)}`);
      }
    }
  }
}

/**
 * The queue as a work unit: each read is one ReceiveMessage, its items the announced objects.
 * A message is settled once all its objects are (they may fall in different slices).
 */
class QueueUnit implements WorkUnit<QueueSettlement> {
  readonly id: string;

  constructor(
    private readonly source: S3SqsSource,
    private readonly queue: string,
    private readonly log: Logger,
  ) {
    this.id = source.name;
  }

  async load(): Promise<QueueSettlement | undefined> {
    return undefined;
  }

  async *read(
    _from: QueueSettlement | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<SettledRead<QueueSettlement>, PassEnd> {
    while (!signal.aborted) {
      const messages = await this.source.receive(this.queue, signal);
      this.source.stats.messages += messages.length;
      const tracker = new MessageTracker(messages, this.source.work(messages), this.source.stats);
      tracker.logSkipped(this.source.name, this.log);
      // Test events and deletions announce nothing: done without any delivery.
      const empty = tracker.takeEmpty();
      if (empty.length) await this.commit({ done: empty, failed: [] });
      if (tracker.items.length === 0) {
        yield { batch: { source: this.source.name, items: [] }, settle: () => ({ done: [], failed: [] }) };
        continue;
      }
      const keepAlive = this.source.extendWhileBusy(this.queue, tracker.receipts(), this.log);
      this.source.stats.in_flight = tracker.items.length;
      try {
        yield {
          batch: { source: this.source.name, items: tracker.items },
          settle: (from, results) => tracker.settle(from, results),
        };
      } finally {
        keepAlive.stop();
        this.source.stats.in_flight = 0;
        const unsettled = tracker.unsettled();
        if (unsettled.length) await this.source.release(this.queue, unsettled, this.log);
      }
    }
    return 'idle';
  }

  commit(s: QueueSettlement): Promise<void> {
    return this.source.settle(this.queue, s, this.log);
  }
}

/** Which messages of one receive are settled, as slices of their objects come back. */
class MessageTracker {
  readonly items;
  private readonly left = new Map<string, number>();
  private readonly failed = new Set<string>();
  private readonly receiptOf: Map<string, string>;

  constructor(
    messages: Message[],
    private readonly work: MessageWork[],
    private readonly stats: S3SqsSource['stats'],
  ) {
    this.receiptOf = new Map(messages.map((m) => [m.MessageId!, m.ReceiptHandle!]));
    this.items = work.flatMap((w) => w.items);
    for (const w of work) this.left.set(w.id, w.items.length);
  }

  logSkipped(source: string, log: Logger): void {
    for (const w of this.work) if (w.note) log.debug({ source, message: w.id }, `skipped: ${w.note}`);
  }

  takeEmpty(): Receipt[] {
    const ids = [...this.left].filter(([, n]) => n === 0).map(([id]) => id);
    for (const id of ids) this.left.delete(id);
    return ids.map((id) => this.receipt(id));
  }

  receipts(): Receipt[] {
    return [...this.receiptOf.keys()].map((id) => this.receipt(id));
  }

  settle(from: number, results: readonly ItemResult[]): QueueSettlement {
    const out: QueueSettlement = { done: [], failed: [] };
    results.forEach((r, i) => {
      const id = messageOf(this.items[from + i]!.ackId);
      this.count(r);
      if (!isAcked(r)) this.failed.add(id);
      const left = (this.left.get(id) ?? 1) - 1;
      if (left > 0) {
        this.left.set(id, left);
        return;
      }
      this.left.delete(id);
      (this.failed.has(id) ? out.failed : out.done).push(this.receipt(id));
    });
    return out;
  }

  unsettled(): Receipt[] {
    return [...this.left.keys()].map((id) => this.receipt(id));
  }

  private count(r: ItemResult): void {
    this.stats.objects++;
    if (r.status === 'dead-lettered') this.stats.dead_lettered++;
    if (!isAcked(r)) this.stats.objects_failed++;
  }

  private receipt(id: string): Receipt {
    return { id, receipt: this.receiptOf.get(id)! };
  }
}

/** Item ack ids are `messageId/n` (or `messageId/body`). */
function messageOf(ackId: string): string {
  return ackId.slice(0, ackId.lastIndexOf('/'));
}

export function create(cfg: S3SqsSourceConfig): Source {
  return new S3SqsSource(cfg);
}
