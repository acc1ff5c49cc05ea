import type { S3Client } from '@aws-sdk/client-s3';
import type { App } from '../../app.js';
import { s3ClientFor } from '../../sources/s3/index.js';
import type { S3SqsSourceConfig } from '../../sources/s3/schema.js';
import { pickSource } from './bootstrap.js';

let cached: { app: App; source: S3SqsSourceConfig; s3: S3Client } | undefined;

/** The s3_sqs source these handlers feed, and its S3 client (one per container, kept warm). */
export function s3Source(app: App): { source: S3SqsSourceConfig; s3: S3Client } {
  if (cached?.app === app) return cached;
  const name = pickSource(app.config, ['s3_sqs']);
  const source = app.config.sources.find((s) => s.name === name) as S3SqsSourceConfig;
  cached = { app, source, s3: s3ClientFor(source) };
  return cached;
}
