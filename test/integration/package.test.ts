import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipJson, kinesisLambdaEvent, subscriptionMessage } from '../../src/demo/cwlogs.js';

const ROOT = join(import.meta.dirname, '../..');
let dist: string;

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'logferry-dist-'));
  // The real build script, into a temporary folder: what `npm run package` ships.
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts/build.ts'), '--zip', '--out', dist],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
}, 120_000);

afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
});

/** Runs the bundled handler the way Lambda's nodejs24.x runtime would: import index.mjs, call handler. */
function invoke(node: string, handlerFile: string, event: unknown, env: Record<string, string>) {
  const script = `
    const { handler } = await import(${JSON.stringify(handlerFile)});
    const event = JSON.parse(process.env.EVENT);
    const res = await handler(event, { getRemainingTimeInMillis: () => 30000, awsRequestId: 'test' });
    process.stdout.write(JSON.stringify({ version: process.version, res }));
  `;
  const r = spawnSync(node, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      EVENT: JSON.stringify(event),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOGFERRY_LOG_LEVEL: 'silent',
      ...env,
    },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`handler failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { version: string; res: unknown };
}

describe('packaged Lambda', () => {
  it('ships a zip per handler', () => {
    expect(existsSync(join(dist, 'lambda', 'kinesis.zip'))).toBe(true);
    expect(existsSync(join(dist, 'cli.mjs'))).toBe(true);
  });

  it('runs the bundled Kinesis handler on Node 24 (the Lambda runtime) with nothing but the bundle', async () => {
    const node24 = spawnSync(
      join(ROOT, 'tools/node24/run.sh'),
      ['-e', 'process.stdout.write(process.execPath)'],
      { encoding: 'utf8' },
    ).stdout;
    const out = join(dist, 'out');
    await writeFile(
      join(dist, 'config.yaml'),
      `state: { type: file, path: ${join(dist, 'state')} }\ndead_letter: { type: file, path: ${join(dist, 'dlq')} }\nsources: [{ name: k, type: kinesis, stream: s, parser: cloudwatch_logs }]\nsinks: [{ name: d, type: daily_files, path: ${out}, retention_days: 0 }]\n`,
    );
    const msg = subscriptionMessage({ kind: 'vpc', count: 7, start: Date.UTC(2026, 10, 25) });
    const { version, res } = invoke(
      node24,
      join(dist, 'lambda/kinesis/index.mjs'),
      kinesisLambdaEvent([gzipJson(msg)]),
      {
        LOGFERRY_CONFIG: join(dist, 'config.yaml'),
      },
    );
    expect(version).toMatch(/^v24\./);
    expect(res).toEqual({ batchItemFailures: [] });
    const lines = (
      await readFile(join(out, 'aws.cloudwatch_logs', 'aws.cloudwatch_logs-2026-11-25.jsonl'), 'utf8')
    )
      .trim()
      .split('\n');
    expect(lines).toHaveLength(7);
  });
});
