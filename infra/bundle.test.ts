import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLambda, configShape, ROOT, unusedImports } from './bundle.js';

const example = async (name: string) => {
  const path = join(ROOT, 'config/examples', name);
  return configShape(await readFile(path, 'utf8'), path);
};

/** index.mjs and every chunk. */
async function bundleText(out: string): Promise<string> {
  const files = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.mjs'));
  return (await Promise.all(files.map((f) => readFile(join(out, f), 'utf8')))).join('\n');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-bundle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Lambda bundle for one config', () => {
  it('leaves out the components the config does not name', async () => {
    const drop = await unusedImports(await example('aws-duo.yaml'));
    expect([...(drop.get('src/registry.ts') ?? [])]).toEqual(
      expect.arrayContaining(['./sinks/opensearch/index.js', './sources/s3/index.js']),
    );
    expect(drop.get('src/parsers/registry.ts')).toContain('./cloudtrail/index.js');
    expect(drop.get('src/parsers/registry.ts')).not.toContain('./duo_auth/index.js');
    expect(drop.get('src/registry.ts')).not.toContain('./sources/duo/index.js');
    expect(drop.get('src/registry.ts')).not.toContain('./sinks/kinesis/index.js');
    expect(drop.get('src/config/secrets.ts')).toContain('@aws-sdk/client-ssm');
    expect(drop.get('src/app.ts')).toContain('./rules/detector.js');
  });

  it('holds the rule files the config loads and no source map', async () => {
    const out = join(dir, 'alerts');
    const r = await bundleLambda({
      handler: 's3',
      outdir: out,
      mapdir: join(dir, 'maps'),
      config: await example('aws-alerts.yaml'),
      rulesBase: ROOT,
    });
    expect(r.rules).toContain('rules/aws/cloudtrail-tampering.yaml');
    expect(existsSync(join(out, 'rules/aws/cloudtrail-tampering.yaml'))).toBe(true);
    expect(existsSync(join(out, 'index.mjs.map'))).toBe(false);
    expect(existsSync(join(dir, 'maps', 'index.mjs.map'))).toBe(true);
    // The pruned bundle no longer carries the OpenSearch client, which only aws-s3.yaml uses.
    const all = await bundleText(out);
    expect(all).not.toContain('@opensearch-project');
    expect(await readFile(join(out, 'index.mjs'), 'utf8')).toContain('is not in this bundle');
  }, 60_000);

  it('reads the S3 SDK for S3 dead letters only when a dead letter is written', async () => {
    const out = join(dir, 'central');
    const yaml = `dead_letter: { type: s3, bucket: dead-letters }
sources: [{ name: k, type: kinesis, stream: central-logging, parser: cloudwatch_logs }]
sinks: [{ name: out, type: stdout }]
`;
    await bundleLambda({ handler: 'kinesis', outdir: out, config: configShape(yaml, 'central') });
    // Without the chunk of @aws-sdk/client-s3, an invocation that dead-letters nothing still runs.
    let removed = 0;
    for (const f of await readdir(join(out, 'chunks')))
      if ((await readFile(join(out, 'chunks', f), 'utf8')).includes('PutBucketVersioningCommand')) {
        await rm(join(out, 'chunks', f));
        removed++;
      }
    expect(removed).toBeGreaterThan(0);
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { handler } = await import('./index.mjs');
         const r = await handler({ Records: [] }, { getRemainingTimeInMillis: () => 30000, awsRequestId: 'r' });
         process.stdout.write(JSON.stringify(r));`,
      ],
      {
        cwd: out,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          LOGFERRY_CONFIG_YAML: yaml,
          LOGFERRY_STATE_DIR: join(dir, 'state'),
          LOGFERRY_LOG_LEVEL: 'silent',
        },
      },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ batchItemFailures: [] });
  }, 60_000);

  it('leaves the AWS SDK and the components to chunks read on first use, and zod to English', async () => {
    const out = join(dir, 'delivery');
    await bundleLambda({ handler: 'kinesis', outdir: out, config: await example('aws-delivery.yaml') });
    const entry = await readFile(join(out, 'index.mjs'), 'utf8');
    // What Lambda's init phase parses: the handler, the config schemas, the pipeline.
    expect(entry).not.toContain('aws-sdk-js');
    expect(entry).not.toContain('NodeHttpHandler');
    const all = await bundleText(out);
    expect(all).toContain('aws-sdk-js');
    expect(all).not.toContain('Ungültige Eingabe');
  }, 60_000);
});
