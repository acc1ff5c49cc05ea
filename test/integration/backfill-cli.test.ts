/**
 * `logferry backfill` as a script runs it: stderr is a pipe, so no progress lines, only the
 * closing summary (progress is drawn only on a terminal).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALB_KEY, albFile } from '../../src/testing/aws-logs-fixtures.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';

const BIN = join(import.meta.dirname, '../../bin/logferry.mjs');
const BUCKET = 'aws-logs-bucket';
let s3: S3Emulator;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-backfill-cli-'));
  s3 = await startS3();
  await s3.createBucket(BUCKET);
  for (let n = 1; n <= 3; n++)
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `old/${ALB_KEY(n)}`, Body: gzipSync(albFile(5, 300 + n)) }),
    );
  await writeFile(
    join(dir, 'config.yaml'),
    `state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources:
  - name: aws-logs
    type: s3_sqs
    s3: { region: us-east-1, endpoint: ${s3.endpoint}, force_path_style: true, credentials: { access_key_id: S3RVER, secret_access_key: S3RVER } }
sinks:
  - { name: daily, type: daily_files, path: ${join(dir, 'logs')}, retention_days: 0, fsync: false }
`,
  );
});

afterAll(async () => {
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('logferry backfill in a pipe', () => {
  it('prints only the summary line, no per-batch progress', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [BIN, 'backfill', `s3://${BUCKET}/old/`, '--config', join(dir, 'config.yaml'), '--batch', '1'],
      { cwd: dir, env: { ...process.env, LOGFERRY_FROM_SOURCE: '1' } },
    );
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^backfill s3:\/\/aws-logs-bucket\/old\/: 3 objects .*, 15 events, .*\(done\)$/);
    expect(stderr).not.toContain('\r');
  });
});
