/**
 * Cold start of the Lambda bundles on Node 24 (the nodejs24.x runtime): a fresh process per run
 * imports the handler (Lambda's init phase) and makes one invocation whose event has no records
 * (the first invocation builds the app: clients, rules). Each bundle is measured with the AWS SDK
 * bundled and with `@aws-sdk/*` left external; the runtime's copy is emulated by resolving it from
 * this repository's node_modules (the Lambda runtime loads it from /var/runtime/node_modules).
 * The baseline is an empty handler; the comparison is from process start to handler ready (Lambda's
 * init phase also starts the runtime). Medians of RUNS runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleLambda, configShape, ROOT } from '../infra/bundle.js';
import { progress } from './lib.js';

const RUNS = Number(process.env.RUNS ?? 7);
const work = join(ROOT, '.tmp', 'bench-init');
const node24 = spawnSync(
  join(ROOT, 'tools/node24/run.sh'),
  ['-e', 'process.stdout.write(process.execPath)'],
  {
    encoding: 'utf8',
  },
).stdout;

// Configs whose app builds without the network (no secrets to fetch), one per layout's handler.
const configs: Record<string, { handler: string; yaml: string; event: unknown }> = {
  'cloudtrail-alerts': {
    handler: 's3',
    event: { Records: [] },
    yaml: `state: { type: file, path: /tmp/lf-bench/state }
dead_letter: { type: file, path: /tmp/lf-bench/dl }
sources: [{ name: s3, type: s3_sqs }]
sinks: [{ name: out, type: stdout }]
rules: { paths: [rules] }
alerts:
  outputs: [{ name: email, type: sns, topic_arn: 'arn:aws:sns:us-east-1:123456789012:alerts' }]
  default_outputs: [email]
`,
  },
  'central-logging': {
    handler: 'kinesis',
    event: { Records: [] },
    yaml: `state: { type: file, path: /tmp/lf-bench/state }
dead_letter: { type: s3, bucket: dead-letters }
sources: [{ name: k, type: kinesis, stream: central-logging, parser: cloudwatch_logs }]
sinks: [{ name: search, type: opensearch, endpoint: 'https://search.example.com', index: 'logs-{dataset}', auth: { aws: { region: us-east-1 } } }]
`,
  },
  'duo-pull': {
    handler: 'duo',
    event: undefined, // the pull would call Duo: import only
    yaml: `state: { type: s3, bucket: duo-state }
dead_letter: { type: s3, bucket: duo-state }
sources: [{ name: duo, type: duo, host: api-x.duosecurity.com, ikey: DIX, skey: { aws_secretsmanager: duo } }]
sinks: [{ name: k, type: kinesis, stream: duo }]
`,
  },
};

function coldStart(
  dir: string,
  event: unknown,
  env: Record<string, string>,
): { init: number; ready: number; total: number } {
  const script = `
    const t0 = performance.now();
    const { handler } = await import(${JSON.stringify(join(dir, 'index.mjs'))});
    const t1 = performance.now();
    const ev = ${JSON.stringify(event ?? null)};
    if (ev) await handler(ev, { getRemainingTimeInMillis: () => 30000, awsRequestId: 'bench' });
    process.stdout.write(JSON.stringify({ init: t1 - t0, ready: t1, total: performance.now() - t0 }));
  `;
  const r = spawnSync(node24, ['--input-type=module', '-e', script], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      LOGFERRY_LOG_LEVEL: 'silent',
      ...env,
    },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${dir}: ${r.stderr.split('\n').slice(0, 3).join(' ')}`);
  return JSON.parse(r.stdout) as { init: number; ready: number; total: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => Math.round(x * 10) / 10;

await rm(work, { recursive: true, force: true });
const empty = join(work, 'empty');
await mkdir(empty, { recursive: true });
await writeFile(join(empty, 'index.mjs'), 'export const handler = async () => ({});\n');
const emptyRuns = Array.from({ length: RUNS }, () => coldStart(empty, {}, {}));
const baseline = {
  init: median(emptyRuns.map((r) => r.init)),
  ready: median(emptyRuns.map((r) => r.ready)),
  total: median(emptyRuns.map((r) => r.total)),
};
progress(
  `empty handler: import ${ms(baseline.init)} ms, ready ${ms(baseline.ready)} ms after process start, import+invoke ${ms(baseline.total)} ms`,
);

const rows: Record<string, unknown>[] = [];
for (const [name, c] of Object.entries(configs)) {
  const config = configShape(c.yaml, name);
  for (const externalSdk of [false, true]) {
    const dir = join(work, `${name}-${externalSdk ? 'runtime-sdk' : 'bundled-sdk'}`);
    const { bytes } = await bundleLambda({
      handler: c.handler,
      outdir: dir,
      config,
      rulesBase: ROOT,
      externalSdk,
    });
    const env = { LOGFERRY_CONFIG_YAML: c.yaml };
    const runs = Array.from({ length: RUNS }, () => coldStart(dir, c.event, env));
    const init = median(runs.map((r) => r.init));
    const total = median(runs.map((r) => r.total));
    const ready = median(runs.map((r) => r.ready));
    const row = {
      bundle: `${name} (${c.handler}), SDK ${externalSdk ? 'from the runtime' : 'bundled'}`,
      kib: Math.round(bytes / 1024),
      init_ms: ms(init),
      // Lambda's init phase starts the runtime too: from process start to the handler being ready.
      ready_ms: ms(ready),
      ready_vs_empty: Math.round((ready / baseline.ready) * 10) / 10,
      ...(c.event ? { import_and_first_invoke_ms: ms(total) } : {}),
    };
    progress(JSON.stringify(row));
    rows.push(row);
  }
}
await rm(work, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ name: 'lambda-init', runs: RUNS, empty_ready_ms: ms(baseline.ready), rows })}\n`,
);
