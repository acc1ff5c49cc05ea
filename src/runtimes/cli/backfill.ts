import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { buildApp } from '../../app.js';
import { loadConfigFile } from '../../config/load.js';
import { type ItemResult, isAcked } from '../../core/batch.js';
import { ConfigError, describeError, SourceError } from '../../core/errors.js';
import { runBatch, writerCommitted } from '../../core/pipeline.js';
import { formatFromKey } from '../../parsers/aws_logs/detect.js';
import { createLogger } from '../../platform/log.js';
import { normalizeEtag, type ObjectRef } from '../../sources/s3/notifications.js';
import { objectItem, s3ClientFor } from '../../sources/s3/objects.js';
import type { S3SqsSourceConfig } from '../../sources/s3/schema.js';
import { UnitRunner } from '../runner/runner.js';
import type { PassEnd, SettledRead, WorkUnit } from '../runner/unit.js';
import { EXIT, fail } from './exit.js';
import { ProgressLine } from './progress.js';

/** What a backfill remembers between runs: keys are listed in order, so "done up to" is enough. */
export interface BackfillCheckpoint {
  /** Every key up to and including this one is finished (delivered or dead-lettered). */
  after?: string;
  /** Keys that failed retryably; tried again first on the next run. */
  retry: string[];
  objects: number;
  events: number;
  dead_lettered: number;
}

export interface BackfillOptions {
  app: App;
  source: S3SqsSourceConfig;
  s3: S3Client;
  bucket: string;
  prefix: string;
  since?: Date;
  batchSize: number;
  signal?: AbortSignal;
  progress?: (p: BackfillProgress) => void;
}

export interface BackfillProgress extends BackfillCheckpoint {
  bytes: number;
  failed: number;
  last?: string;
}

export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m || m[1]!.length < 3) throw new ConfigError(`'${url}' is not an s3://bucket/prefix URL`);
  return { bucket: m[1]!, prefix: m[2]! };
}

export function checkpointKey(bucket: string, prefix: string, since?: Date): string {
  return `backfill/${bucket}/${prefix}@${since ? since.toISOString() : 'all'}`;
}

/**
 * Lists the objects under a prefix (in key order) and sends them through the pipeline a batch
 * at a time, saving a checkpoint after each batch: an interrupted backfill resumes after the
 * last finished key, and objects that failed retryably are tried again first. Digest files are
 * skipped; `since` skips objects last modified before it. The prefix is one work unit driven by
 * the runner; objects do not wait for each other (a failed one goes on the retry list).
 */
export async function backfill(o: BackfillOptions): Promise<BackfillProgress> {
  const unit = new PrefixUnit(
    o,
    await o.app.state.get<BackfillCheckpoint>(checkpointKey(o.bucket, o.prefix, o.since)),
  );
  const runner = new UnitRunner(unit, {
    process: (batch, cap) => runBatch(batch, o.app.pipeline, undefined, cap),
    committed: (writer) => writerCommitted(o.app.pipeline, o.source.name, writer),
    signal: o.signal ?? new AbortController().signal,
    log: o.app.deps.log,
    bound: { items: o.batchSize, bytes: Number.POSITIVE_INFINITY },
  });
  await runner.run();
  return unit.result();
}

/** A prefix as a work unit: earlier failures first, then the listing after the checkpoint, one batch per read. */
class PrefixUnit implements WorkUnit<BackfillCheckpoint> {
  readonly id: string;
  private readonly key: string;
  private readonly progress: BackfillProgress;
  /** Earlier failures not tried yet: kept in the checkpoint until they are. */
  private earlier: string[];
  private readonly retryAgain: string[] = [];

  constructor(
    private readonly o: BackfillOptions,
    saved: BackfillCheckpoint | undefined,
  ) {
    this.id = `s3://${o.bucket}/${o.prefix}`;
    this.key = checkpointKey(o.bucket, o.prefix, o.since);
    const cp = saved ?? { retry: [], objects: 0, events: 0, dead_lettered: 0 };
    this.progress = { ...cp, retry: [], bytes: 0, failed: 0 };
    this.earlier = [...cp.retry];
  }

  async load(): Promise<BackfillCheckpoint | undefined> {
    return this.checkpoint();
  }

  async *read(): AsyncGenerator<SettledRead<BackfillCheckpoint>, PassEnd> {
    try {
      // Earlier failures first (they may have been fixed since).
      while (this.earlier.length) {
        const keys = this.earlier.slice(0, this.o.batchSize);
        const refs = await Promise.all(keys.map((k) => this.head(k)));
        yield this.batchRead(refs, () => {
          this.earlier = this.earlier.slice(keys.length);
        });
      }
      yield* this.listing();
    } catch (e) {
      if (e instanceof SourceError) throw e;
      // A listing that fails ends the backfill with the reason: a run again resumes.
      throw new SourceError(`${this.id}: ${describeError(e)}`, { retryable: false, cause: e });
    }
    return 'finished';
  }

  private async *listing(): AsyncGenerator<SettledRead<BackfillCheckpoint>> {
    let token: string | undefined;
    do {
      const page = await this.o.s3.send(
        new ListObjectsV2Command({
          Bucket: this.o.bucket,
          Prefix: this.o.prefix || undefined,
          ContinuationToken: token,
          StartAfter: token ? undefined : this.progress.after,
        }),
      );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      const refs = this.wanted(page.Contents ?? []);
      for (let i = 0; i < refs.length; i += this.o.batchSize) {
        const batch = refs.slice(i, i + this.o.batchSize);
        yield this.batchRead(batch, () => {
          this.progress.after = batch[batch.length - 1]!.key;
        });
      }
      // Keys skipped by `since` or as digests are finished too.
      const lastListed = page.Contents?.[page.Contents.length - 1]?.Key;
      if (lastListed && (!this.progress.after || lastListed > this.progress.after)) {
        this.progress.after = lastListed;
        await this.commit(this.checkpoint());
      }
    } while (token);
  }

  private wanted(
    contents: { Key?: string; Size?: number; ETag?: string; LastModified?: Date }[],
  ): ObjectRef[] {
    const refs: ObjectRef[] = [];
    for (const obj of contents) {
      if (!obj.Key || obj.Key.endsWith('/')) continue;
      if (this.o.since && obj.LastModified && obj.LastModified < this.o.since) continue;
      if (formatFromKey(obj.Key) === 'digest') continue;
      refs.push({ bucket: this.o.bucket, key: obj.Key, size: obj.Size, etag: normalizeEtag(obj.ETag) });
    }
    return refs;
  }

  private async head(key: string): Promise<ObjectRef> {
    try {
      const head = await this.o.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return { bucket: this.o.bucket, key, size: head.ContentLength, etag: normalizeEtag(head.ETag) };
    } catch {
      // Gone or unreadable: reading it reports why (and dead-letters it).
      return { bucket: this.o.bucket, key };
    }
  }

  /** One batch of objects; settling it counts the results and moves the position on (`advance`). */
  private batchRead(refs: ObjectRef[], advance: () => void): SettledRead<BackfillCheckpoint> {
    const items = refs.map((r) => objectItem(this.o.s3, this.o.source.name, r, r.key, this.o.source.formats));
    return {
      batch: { source: this.o.source.name, items },
      settle: (from, results) => {
        results.forEach((r, i) => {
          this.count(refs[from + i]!, r);
        });
        this.progress.last = refs[from + results.length - 1]?.key;
        if (from + results.length === refs.length) advance();
        return this.checkpoint();
      },
    };
  }

  private count(ref: ObjectRef, r: ItemResult): void {
    this.progress.events += r.events;
    if (!isAcked(r)) {
      this.retryAgain.push(ref.key);
      this.progress.failed++;
      return;
    }
    this.progress.objects++;
    this.progress.bytes += ref.size ?? 0;
    if (r.status === 'dead-lettered') this.progress.dead_lettered++;
  }

  private checkpoint(): BackfillCheckpoint {
    return {
      after: this.progress.after,
      retry: [...new Set([...this.earlier, ...this.retryAgain])],
      objects: this.progress.objects,
      events: this.progress.events,
      dead_lettered: this.progress.dead_lettered,
    };
  }

  async commit(cp: BackfillCheckpoint): Promise<void> {
    await this.o.app.state.put(this.key, cp);
    this.o.progress?.(this.progress);
  }

  result(): BackfillProgress {
    return { ...this.progress, retry: this.checkpoint().retry };
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function progressLine(url: string, p: BackfillProgress): string {
  return `backfill ${url}: ${p.objects} objects (${mb(p.bytes)} this run), ${p.events.toLocaleString('en')} events, ${p.dead_lettered} dead-lettered, ${p.failed} failed${p.last ? `, at ${p.last}` : ''}`;
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description(
      'read the log objects already under s3://bucket/prefix: CloudTrail, ELB/ALB/NLB, Firehose archives of CloudWatch Logs (resumes where it stopped)',
    )
    .argument('<url>', 's3://bucket/prefix to read')
    .option('-c, --config <file>', 'config file', 'config/examples/local.yaml')
    .option('--source <name>', 'the s3_sqs source whose S3 settings, formats and sinks to use')
    .option('--since <date>', 'only objects last modified on or after this date (ISO 8601)')
    .option('--batch <n>', 'objects per batch (a checkpoint is saved after each)', '8')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent', 'warn')
    .action(
      async (
        url: string,
        opts: { config: string; source?: string; since?: string; batch: string; logLevel: string },
      ) => {
        try {
          const { bucket, prefix } = parseS3Url(url);
          const since = opts.since === undefined ? undefined : new Date(opts.since);
          if (since && Number.isNaN(since.getTime()))
            throw new ConfigError(`--since '${opts.since}' is not a date`);
          const batchSize = Number(opts.batch);
          if (!Number.isInteger(batchSize) || batchSize < 1)
            throw new ConfigError('--batch must be a whole number ≥ 1');
          const config = await loadConfigFile(opts.config);
          const source = config.sources.find(
            (s) => s.type === 's3_sqs' && (!opts.source || s.name === opts.source),
          ) as S3SqsSourceConfig | undefined;
          if (!source)
            throw new ConfigError(
              opts.source
                ? `no s3_sqs source named '${opts.source}' in ${opts.config}`
                : `${opts.config} has no s3_sqs source`,
            );
          const app = await buildApp(config, { log: createLogger(opts.logLevel) });
          const stop = new AbortController();
          process.once('SIGINT', () => stop.abort());
          process.once('SIGTERM', () => stop.abort());
          const bar = new ProgressLine();
          const result = await backfill({
            app,
            source,
            s3: s3ClientFor(source),
            bucket,
            prefix,
            since,
            batchSize,
            signal: stop.signal,
            progress: (p) => bar.update(progressLine(url, p)),
          });
          await app.close();
          bar.done();
          process.stderr.write(
            `${progressLine(url, result)}${stop.signal.aborted ? ' (interrupted: run again to resume)' : ' (done)'}\n`,
          );
          if (result.retry.length) {
            process.stderr.write(
              `${result.retry.length} objects failed and will be retried on the next run\n`,
            );
            process.exit(EXIT.failure);
          }
          process.exit(result.dead_lettered ? EXIT.badInput : EXIT.ok);
        } catch (e) {
          fail(e);
        }
      },
    );
}
