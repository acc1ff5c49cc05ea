import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadEvent } from '../../../test/events/load.js';
import { controlMessage, gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../demo/cwlogs.js';
import { resetLambdaApp } from './bootstrap.js';
import { handler, type KinesisEvent } from './kinesis.js';

const ctx = { getRemainingTimeInMillis: () => 60_000 };
let dir: string;

function config(parser: string, sinkPath = join(dir, 'logs')) {
  return `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
delivery: { max_attempts: 2, backoff: 1ms, max_backoff: 2ms }
sources:
  - { name: central, type: kinesis, stream: central-logging, parser: ${parser} }
sinks:
  - { name: daily, type: daily_files, path: ${sinkPath}, retention_days: 0 }
`;
}

async function lines(): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const base = join(dir, 'logs');
  for (const d of await readdir(base).catch(() => [] as string[])) {
    for (const f of await readdir(join(base, d))) {
      for (const l of (await readFile(join(base, d, f), 'utf8')).split('\n')) if (l) out.push(JSON.parse(l));
    }
  }
  return out;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-lambda-'));
});
afterEach(async () => {
  await resetLambdaApp();
  delete process.env.LOGFERRY_CONFIG_YAML;
  await rm(dir, { recursive: true, force: true });
});

describe('Kinesis Lambda handler', () => {
  it('handles the AWS documentation event (text records) with the auto parser', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('auto');
    const res = await handler(loadEvent('kinesis', 'aws-docs'), ctx);
    expect(res).toEqual({ batchItemFailures: [] });
    expect((await lines()).map((l) => l.message).sort()).toEqual([
      'Hello, this is a test.',
      'This is only a test.',
    ]);
  });

  it('decodes CloudWatch Logs records and skips control messages', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('cloudwatch_logs');
    const msg = subscriptionMessage({ kind: 'vpc', count: 25, start: 1_764_000_000_000 });
    const res = await handler(kinesisLambdaEvent([gzipJson(msg), gzipJson(controlMessage())]), ctx);
    expect(res.batchItemFailures).toEqual([]);
    expect(await lines()).toHaveLength(25);
  });

  it('dead-letters a bad record and acknowledges it, delivering the others', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('cloudwatch_logs');
    const msg = subscriptionMessage({ kind: 'app', count: 3, start: 1_764_000_000_000 });
    const event = kinesisLambdaEvent([
      gzipJson(msg),
      Buffer.from('not gzip at all'),
      gzipJson(msg),
    ]) as KinesisEvent;
    const res = await handler(event, ctx);
    expect(res.batchItemFailures).toEqual([]);
    expect(await lines()).toHaveLength(3); // the same message twice: idempotent
    const days = await readdir(join(dir, 'dlq'));
    const dead = JSON.parse(
      await readFile(join(dir, 'dlq', days[0]!, (await readdir(join(dir, 'dlq', days[0]!)))[0]!), 'utf8'),
    );
    expect(dead.error).toContain(
      `central-logging/shardId-000000000000/${event.Records[1]!.kinesis.sequenceNumber}`,
    );
    expect(Buffer.from(dead.data, 'base64').toString()).toBe('not gzip at all');
  });

  it('returns the sequence numbers of records it could not deliver', async () => {
    // A sink that cannot write (its folder is a file) makes delivery fail retryably.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'blocked'), 'x');
    process.env.LOGFERRY_CONFIG_YAML = config('auto', join(dir, 'blocked'));
    const event = kinesisLambdaEvent([Buffer.from('{"a":1}'), Buffer.from('not base64 ##')]) as KinesisEvent;
    event.Records[1]!.kinesis.data = 'not base64 ##';
    const res = await handler(event, ctx);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]!.kinesis.sequenceNumber }]);
  });

  it('throws when every record failed, so the batch is retried even without ReportBatchItemFailures', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'blocked'), 'x');
    process.env.LOGFERRY_CONFIG_YAML = config('auto', join(dir, 'blocked'));
    const event = kinesisLambdaEvent([Buffer.from('{"a":1}'), Buffer.from('{"b":2}')]);
    await expect(handler(event, ctx)).rejects.toThrow(/all 2 records failed/);
  });

  it('rejects an event that is not a Kinesis event', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('auto');
    await expect(handler({ Records: [{ s3: {} }] }, ctx)).rejects.toThrow(/not a Kinesis event: Records.0/);
  });

  it('touches nothing when the invocation has no time left, and says so', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('auto');
    const event = kinesisLambdaEvent([Buffer.from('{"a":1}'), Buffer.from('{"b":2}')]) as KinesisEvent;
    await expect(handler(event, { getRemainingTimeInMillis: () => 500 })).rejects.toThrow(
      /not tried: deadline reached/,
    );
    expect(await lines()).toEqual([]);
  });
});
