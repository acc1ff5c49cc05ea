import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { parseConfig } from '../config/load.js';
import { runBatch } from '../core/pipeline.js';
import { memoryLogger } from '../platform/log.js';
import { rulesCheck, rulesRun, rulesTest } from '../runtimes/cli/rules.js';
import { freePort } from '../testing/ports.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'detector-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const trail = (records: Record<string, unknown>[]) => Buffer.from(JSON.stringify({ Records: records }));
const stop = (id: string) => ({
  eventVersion: '1.08',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', userName: 'Alice' },
  eventTime: '2026-11-25T10:05:31Z',
  eventSource: 'cloudtrail.amazonaws.com',
  eventName: 'StopLogging',
  awsRegion: 'eu-west-1',
  sourceIPAddress: '203.0.113.77',
  eventID: id,
  eventType: 'AwsApiCall',
  recipientAccountId: '123456789012',
});

describe('rules from the config (buildApp)', () => {
  it('runs the shipped rules in the pipeline and writes alerts to a sink as dataset `alerts`', async () => {
    const config = parseConfig(
      `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources: [{ name: trails, type: inbox, path: ${join(dir, 'in')}, parser: cloudtrail }]
sinks: [{ name: archive, type: daily_files, path: ${join(dir, 'out')}, fsync: false, retention_days: 0 }]
rules: { paths: [rules] }
alerts:
  outputs: [{ type: sink, name: to-archive, sink: archive }]
`,
      'c.yaml',
      {},
    );
    const log = memoryLogger();
    const app = await buildApp(config, { log });
    const result = await runBatch(
      {
        source: 'trails',
        items: [
          {
            ackId: 'f1',
            origin: { source: 'trails', type: 'file', ref: 'f1' },
            body: {
              kind: 'bytes',
              bytes: trail([stop('e-1'), { ...stop('e-2'), eventName: 'StartLogging' }]),
            },
          },
        ],
      },
      app.pipeline,
    );
    await app.close();
    expect(result.items[0]!.status).toBe('delivered');
    expect(log.entries.filter((e) => e.level === 'warn')).toEqual([]);
    expect(await readdir(join(dir, 'out'))).toEqual(['alerts', 'aws.cloudtrail']);
    const [file] = await readdir(join(dir, 'out', 'alerts'));
    const alerts = (await readFile(join(dir, 'out', 'alerts', file!), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: { id: 'aws-cloudtrail-tampering' }, event: { kind: 'alert' } });
  });
});

describe('an alert output that is down', () => {
  it('events are delivered; the alert is retried, then kept in the dead-letter store', async () => {
    const port = await freePort();
    const config = parseConfig(
      `
state: { type: file, path: ${join(dir, 'state')} }
dead_letter: { type: file, path: ${join(dir, 'dlq')} }
sources: [{ name: trails, type: inbox, path: ${join(dir, 'in')}, parser: cloudtrail }]
sinks: [{ name: archive, type: daily_files, path: ${join(dir, 'out')}, fsync: false, retention_days: 0 }]
rules: { paths: [rules/aws/cloudtrail-tampering.yaml] }
alerts:
  outputs: [{ type: webhook, name: soar, webhook_url: 'http://127.0.0.1:${port}/hooks/tok_abc123', timeout: 2s }]
  max_attempts: 2
  backoff: 1ms
`,
      'c.yaml',
      {},
    );
    const app = await buildApp(config, { log: memoryLogger() });
    const result = await runBatch(
      {
        source: 'trails',
        items: [
          {
            ackId: 'f1',
            origin: { source: 'trails', type: 'file', ref: 'f1' },
            body: { kind: 'bytes', bytes: trail([stop('e-9')]) },
          },
        ],
      },
      app.pipeline,
    );
    const stored = [];
    for await (const d of app.deadLetter.list()) stored.push(d);
    await app.close();
    expect(result.items[0]!.status).toBe('delivered');
    expect(await readdir(join(dir, 'out'))).toEqual(['aws.cloudtrail']);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: 'alert', sink: 'soar', attempts: 2, retryable: true });
    expect(stored[0]!.error).toBe('deliver: soar: connection failed (ECONNREFUSED)');
    expect(JSON.stringify(stored)).not.toContain('tok_abc123');
  });
});

describe('logferry rules CLI', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, o: (s: string) => out.push(s), e: (s: string) => err.push(s) };
  };

  it('rules test runs every example of the shipped rules', async () => {
    const c = capture();
    const { code } = await rulesTest(['rules'], c.o, c.e);
    expect(c.err).toEqual([]);
    expect(code).toBe(0);
    expect(c.out.at(-1)).toMatch(/^\d+ rules, \d+ examples, 0 failure\(s\)$/);
  });

  it('rules test fails (exit 1) on a rule whose example is wrong', async () => {
    await writeFile(
      join(dir, 'r.yaml'),
      'id: x\ntitle: X\nseverity: low\ndataset: d\ncondition: { a: 1 }\nexamples:\n  match: [{ event: { a: 2 } }]\n  no_match: [{ event: { a: 3 } }]\n',
    );
    const c = capture();
    expect((await rulesTest([dir], c.o, c.e)).code).toBe(1);
    expect(c.err).toEqual([`${join(dir, 'r.yaml')}:7: x: match example raised no alert`]);
  });

  it('rules check reports errors with file:line (exit 2) and warnings', async () => {
    await writeFile(
      join(dir, 'bad.yaml'),
      'id: x\ntitle: X\nseverity: low\ndataset: d\ncondition: { a: { near: 1 } }\n',
    );
    const c = capture();
    expect(await rulesCheck([join(dir, 'bad.yaml'), 'rules/aws/sns-create-topic.yaml'], c.o, c.e)).toBe(2);
    expect(c.err[0]).toMatch(/bad\.yaml:5: unknown operator 'near'/);
    expect(c.out).toEqual(['ok aws-sns-create-topic (logferry, 3 examples)']);
  });

  it('rules run evaluates a CloudTrail file and prints the alerts', async () => {
    const file = join(dir, '123456789012_CloudTrail_eu-west-1_20261125T1005Z_abc.json');
    await writeFile(file, trail([stop('e-1'), { ...stop('e-2'), eventName: 'DescribeTrails' }]));
    const c = capture();
    expect(await rulesRun({ input: file, rules: ['rules'] }, c.o, c.e)).toBe(0);
    expect(c.out).toHaveLength(1);
    expect(JSON.parse(c.out[0]!)).toMatchObject({
      rule: { id: 'aws-cloudtrail-tampering' },
      severity: 'high',
    });
    expect(c.err.at(-1)).toMatch(/^2 events, \d+ rules, 1 alert\(s\)$/);
  });
});
