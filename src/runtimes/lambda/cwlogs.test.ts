import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadEvent } from '../../../test/events/load.js';
import { gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../demo/cwlogs.js';
import { resetLambdaApp } from './bootstrap.js';
import { handler } from './cwlogs.js';

const ctx = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'c0ffee00-1111-2222-3333-444455556666' };
let dir: string;

function config(parser: string, sinkPath = join(dir, 'logs')) {
  return `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
delivery: { max_attempts: 2, backoff: 1ms, max_backoff: 2ms }
sources:
  - { name: logs, type: kinesis, stream: unused, parser: ${parser} }
sinks:
  - { name: daily, type: daily_files, path: ${sinkPath}, retention_days: 0 }
`;
}

async function readAll(base: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (const d of await readdir(base).catch(() => [] as string[])) {
    for (const f of await readdir(join(base, d))) {
      for (const l of (await readFile(join(base, d, f), 'utf8')).split('\n')) if (l) out.push(JSON.parse(l));
    }
  }
  return out;
}

const awslogs = (payload: Buffer) => ({ awslogs: { data: payload.toString('base64') } });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-cwlogs-'));
});
afterEach(async () => {
  await resetLambdaApp();
  delete process.env.LOGFERRY_CONFIG_YAML;
  await rm(dir, { recursive: true, force: true });
});

describe('CloudWatch Logs (direct subscription) Lambda handler', () => {
  for (const parser of ['cloudwatch_logs', 'auto']) {
    it(`delivers the AWS documentation event with the ${parser} parser`, async () => {
      process.env.LOGFERRY_CONFIG_YAML = config(parser);
      const res = await handler(loadEvent('cloudwatch_logs', 'aws-docs'), ctx);
      expect(res).toEqual({ events: 2, dead_lettered: 0 });
      const docs = await readAll(join(dir, 'logs'));
      expect(docs.map((d) => d.message).sort()).toEqual([
        '[ERROR] First test message',
        '[ERROR] Second test message',
      ]);
      expect(docs[0]).toMatchObject({ aws: { cloudwatch: { log_group: 'testLogGroup' } } });
    });
  }

  it('does not duplicate events when Lambda retries the same event', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('cloudwatch_logs');
    const event = awslogs(gzipJson(subscriptionMessage({ kind: 'app', count: 4, start: 1_764_000_000_000 })));
    await handler(event, ctx);
    await handler(event, ctx);
    expect(await readAll(join(dir, 'logs'))).toHaveLength(4);
  });

  it('dead-letters an unreadable payload and succeeds (retrying cannot fix it)', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('cloudwatch_logs');
    const good = gzipJson(subscriptionMessage({ kind: 'app', count: 2, start: 1_764_000_000_000 }));
    const res = await handler(awslogs(good.subarray(0, 30)), ctx);
    expect(res).toEqual({ events: 0, dead_lettered: 1 });
    const [dead] = await readAll(join(dir, 'dlq'));
    expect(dead!.error).toMatch(
      /^parse awslogs request c0ffee00-1111-2222-3333-444455556666: record: gzip stream is truncated/,
    );
    expect(dead!.data).toBe(good.subarray(0, 30).toString('base64'));
  });

  it('dead-letters an event of another kind whole, naming what is missing', async () => {
    process.env.LOGFERRY_CONFIG_YAML = config('cloudwatch_logs');
    const res = await handler(kinesisLambdaEvent([Buffer.from('x')]), ctx);
    expect(res).toEqual({ events: 0, dead_lettered: 1 });
    const [dead] = await readAll(join(dir, 'dlq'));
    expect(dead!.error).toMatch(/not a CloudWatch Logs subscription event: awslogs/);
  });

  it('throws when delivery fails, so Lambda retries the event and then sends it to the on-failure destination', async () => {
    await writeFile(join(dir, 'blocked'), 'x');
    process.env.LOGFERRY_CONFIG_YAML = config('cloudwatch_logs', join(dir, 'blocked'));
    await expect(handler(loadEvent('cloudwatch_logs', 'aws-docs'), ctx)).rejects.toThrow(
      /CloudWatch Logs event not delivered/,
    );
  });
});
