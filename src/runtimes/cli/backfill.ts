import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import type { App } from '../../app.js';
import { buildApp } from '../../app.js';
import { loadConfigFile } from '../../config/load.js';
import { isAcked } from '../../core/batch.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { runBatch } from '../../core/pipeline.js';
import { formatFromKey } from '../../parsers/aws_logs/detect.js';
import { normalizeEtag, type ObjectRef } from '../../sources/s3/notifications.js';
import { objectItem, s3ClientFor } from '../../sources/s3/objects.js';
import type { S3SqsSourceConfig } from '../../sources/s3/schema.js';
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
 * skipped; `since` skips objects last modified before it.
 */
export async function backfill(o: BackfillOptions): Promise<BackfillProgress> {
  const key = checkpointKey(o.bucket, o.prefix, o.since);
  const saved = await o.app.state.get<BackfillCheckpoint>(key);
  const cp: BackfillCheckpoint = saved ?? { retry: [], objects: 0, events: 0, dead_lettered: 0 };
  const progress: BackfillProgress = { ...cp, retry: [...cp.retry], bytes: 0, failed: 0 };
  const retryAgain: string[] = [];

  const runRefs = async (refs: ObjectRef[]) => {
    const items = refs.map((r) => objectItem(o.s3, o.source.name, r, r.key, o.source.formats));
    const res = await runBatch({ source: o.source.name, items }, o.app.pipeline);
    for (const [i, r] of res.items.entries()) {
      if (!isAcked(r)) {
        retryAgain.push(refs[i]!.key);
        progress.failed++;
        continue;
      }
      progress.objects++;
      progress.bytes += refs[i]!.size ?? 0;
      if (r.status === 'dead-lettered') progress.dead_lettered++;
    }
    progress.events += res.events;
    progress.last = refs[refs.length - 1]?.key;
  };
  const save = async () => {
    const next: BackfillCheckpoint = {
      after: progress.after,
      retry: [...new Set([...progress.retry, ...retryAgain])],
      objects: progress.objects,
      events: progress.events,
      dead_lettered: progress.dead_lettered,
    };
    await o.app.state.put(key, next);
    o.progress?.(progress);
  };

  // Earlier failures first (they may have been fixed since).
  const earlier = progress.retry.splice(0);
  for (let i = 0; i < earlier.length && !o.signal?.aborted; i += o.batchSize) {
    const refs: ObjectRef[] = [];
    for (const k of earlier.slice(i, i + o.batchSize)) {
      try {
        const head = await o.s3.send(new HeadObjectCommand({ Bucket: o.bucket, Key: k }));
        refs.push({ bucket: o.bucket, key: k, size: head.ContentLength, etag: normalizeEtag(head.ETag) });
      } catch {
        // Gone or unreadable: reading it reports why (and dead-letters it).
        refs.push({ bucket: o.bucket, key: k });
      }
    }
    await runRefs(refs);
    await save();
  }

  let token: string | undefined;
  do {
    if (o.signal?.aborted) break;
    const page = await o.s3.send(
      new ListObjectsV2Command({
        Bucket: o.bucket,
        Prefix: o.prefix || undefined,
        ContinuationToken: token,
        StartAfter: token ? undefined : progress.after,
      }),
    );
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    const refs: ObjectRef[] = [];
    for (const obj of page.Contents ?? []) {
      if (!obj.Key || obj.Key.endsWith('/')) continue;
      if (o.since && obj.LastModified && obj.LastModified < o.since) continue;
      if (formatFromKey(obj.Key) === 'digest') continue;
      refs.push({ bucket: o.bucket, key: obj.Key, size: obj.Size, etag: normalizeEtag(obj.ETag) });
    }
    for (let i = 0; i < refs.length; i += o.batchSize) {
      if (o.signal?.aborted) break;
      const batch = refs.slice(i, i + o.batchSize);
      await runRefs(batch);
      progress.after = batch[batch.length - 1]!.key;
      await save();
    }
    // Keys skipped by `since` or as digests are finished too.
    const lastListed = page.Contents?.[page.Contents.length - 1]?.Key;
    if (!o.signal?.aborted && lastListed && (!progress.after || lastListed > progress.after)) {
      progress.after = lastListed;
      await save();
    }
  } while (token);
  progress.retry = [...new Set([...progress.retry, ...retryAgain])];
  return progress;
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
