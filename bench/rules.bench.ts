/**
 * Detection cost: CloudTrail files → cloudtrail parser → 100 rules (field, regex, numeric and
 * windowed) → NDJSON sink, against the same pipeline with no rules. BENCH_EVENTS sets how many
 * events (default 1 000 000), read as files of 5 000 records. Then patterns that backtrack
 * catastrophically in V8, each on a hostile 64 KiB field: one line per pattern with its time.
 */
import type { RawItem } from '../src/core/batch.js';
import { runBatch } from '../src/core/pipeline.js';
import { rng } from '../src/demo/cwlogs.js';
import { CloudTrailParser } from '../src/parsers/cloudtrail/index.js';
import { memoryLogger } from '../src/platform/log.js';
import { RuleEngine } from '../src/rules/engine.js';
import { loadRules, parseRule } from '../src/rules/load.js';
import { compileGlob, compileRegex, type TextTest } from '../src/rules/pattern.js';
import type { Rule } from '../src/rules/types.js';
import { MemoryWindowStore } from '../src/rules/window.js';
import { testPipeline } from '../src/testing/memory.js';
import { measure, NullNdjsonSink, progress, result } from './lib.js';

const TOTAL = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PER_FILE = 5000;
const DISTINCT_FILES = 20;

// Common calls make up most of a trail; the calls rules look for are rare, as in real accounts.
const COMMON = [
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['s3.amazonaws.com', 'GetBucketAcl'],
  ['sts.amazonaws.com', 'AssumeRole'],
  ['kms.amazonaws.com', 'Decrypt'],
  ['iam.amazonaws.com', 'GetRole'],
  ['lambda.amazonaws.com', 'ListFunctions20150331'],
  ['logs.amazonaws.com', 'DescribeLogGroups'],
  ['dynamodb.amazonaws.com', 'DescribeTable'],
  ['sns.amazonaws.com', 'ListTopics'],
  ['cloudtrail.amazonaws.com', 'DescribeTrails'],
];
const RARE = [
  ['sns.amazonaws.com', 'CreateTopic'],
  ['cloudtrail.amazonaws.com', 'StopLogging'],
  ['iam.amazonaws.com', 'CreateAccessKey'],
  ['iam.amazonaws.com', 'AttachUserPolicy'],
  ['ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress'],
  ['signin.amazonaws.com', 'ConsoleLogin'],
];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const AGENTS = [
  'aws-cli/2.13.5 Python/3.11.4',
  'console.amazonaws.com',
  'Boto3/1.34.0 Python/3.12',
  'terraform/1.7.0',
];

function record(i: number, r: () => number): Record<string, unknown> {
  const rare = r() < 0.01;
  const [source, name] = rare
    ? RARE[Math.floor(r() * RARE.length)]!
    : COMMON[Math.floor(r() * COMMON.length)]!;
  const user = USERS[Math.floor(r() * USERS.length)]!;
  const rec: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: {
      type: r() < 0.002 ? 'Root' : 'IAMUser',
      principalId: 'AIDAJDPLRKLG7UEXAMPLE',
      arn: `arn:aws:iam::123456789012:user/${user}`,
      accountId: '123456789012',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: user,
    },
    eventTime: new Date(1_764_000_000_000 + i * 50).toISOString(),
    eventSource: source,
    eventName: name,
    awsRegion: 'us-east-1',
    sourceIPAddress: `198.51.100.${Math.floor(r() * 250)}`,
    userAgent: AGENTS[Math.floor(r() * AGENTS.length)],
    requestParameters: { maxResults: Math.floor(r() * 1000), name: `res-${i % 977}` },
    responseElements: null,
    requestID: `req-${i}`,
    eventID: `evt-${i}`,
    readOnly: !rare,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '123456789012',
    eventCategory: 'Management',
  };
  if (r() < 0.03) {
    rec.errorCode = 'AccessDenied';
    rec.errorMessage = `User: arn:aws:iam::123456789012:user/${user} is not authorized`;
  }
  return rec;
}

function benchRules(): Rule[] {
  const texts: string[] = [];
  const head = (id: string) => `id: ${id}\ntitle: Bench ${id}\nseverity: low\ndataset: aws.cloudtrail\n`;
  const names = [...COMMON, ...RARE].map(([, n]) => n!);
  // 33 field rules: exact source/name pairs (most on names that never occur), with wildcards.
  for (let i = 0; i < 33; i++) {
    const name = i < RARE.length ? RARE[i]![1] : `Bench${i}Call`;
    texts.push(
      `${head(`field-${i}`)}condition:\n  all:\n    - aws.cloudtrail.eventName: ${name}\n    - aws.cloudtrail.userIdentity.type: ['IAMUser', 'Root']\n    - aws.cloudtrail.awsRegion: 'us-*'\n`,
    );
  }
  // 20 regex rules: half keyed by an event name, half tested on every event.
  for (let i = 0; i < 20; i++) {
    texts.push(
      i % 2
        ? `${head(`regex-${i}`)}condition:\n  all:\n    - aws.cloudtrail.eventName: ${names[i % names.length]}\n    - aws.cloudtrail.userAgent: { regex: '^(terraform|pulumi)/${i}\\.' }\n`
        : `${head(`regex-${i}`)}condition:\n  aws.cloudtrail.errorMessage: { regex: 'user/(mallory|trudy)${i}\\b' }\n`,
    );
  }
  // 20 numeric rules.
  for (let i = 0; i < 20; i++) {
    texts.push(
      `${head(`numeric-${i}`)}condition:\n  all:\n    - aws.cloudtrail.eventName: ${names[i % names.length]}\n    - aws.cloudtrail.requestParameters.maxResults: { '>': ${990 + (i % 10)} }\n`,
    );
  }
  // 20 windowed rules: failures per user, distinct calls per address, sums.
  for (let i = 0; i < 20; i++) {
    const agg =
      i % 3 === 0
        ? `{ function: count, group_by: [user.name], window: 10m, threshold: ${50 + i} }`
        : i % 3 === 1
          ? `{ function: distinct_count, field: aws.cloudtrail.eventName, group_by: [source.ip], window: 5m, threshold: ${12 + i} }`
          : `{ function: sum, field: aws.cloudtrail.requestParameters.maxResults, group_by: [user.name], window: 1m, threshold: 1000000 }`;
    const cond =
      i % 3 === 0
        ? '  aws.cloudtrail.errorCode: AccessDenied'
        : `  aws.cloudtrail.eventName: ${names[i % names.length]}`;
    texts.push(`${head(`window-${i}`)}condition:\n${cond}\naggregate: ${agg}\ndedup: { throttle: 1h }\n`);
  }
  return texts.map((t, i) => parseRule(t, `bench-${i}.yaml`).rule);
}

const shipped = (await loadRules(['rules'])).rules.filter((r) => r.datasets.includes('aws.cloudtrail'));
const rules = [...shipped, ...benchRules()].slice(0, 100);
const kinds = { shipped: shipped.length, generated: rules.length - shipped.length };

const r = rng(11);
const files: Buffer[] = [];
for (let f = 0; f < Math.min(DISTINCT_FILES, Math.ceil(TOTAL / PER_FILE)); f++) {
  const recs = Array.from({ length: PER_FILE }, (_, i) => record(f * PER_FILE + i, r));
  files.push(Buffer.from(JSON.stringify({ Records: recs })));
}
progress(
  `rules: ${TOTAL} CloudTrail events in files of ${PER_FILE}, ${rules.length} rules (${kinds.shipped} shipped, ${kinds.generated} generated), ${(files.reduce((a, b) => a + b.length, 0) / 1e6).toFixed(0)} MB of distinct input`,
);

async function run(withRules: boolean): Promise<{ events: number; alerts: number }> {
  let alerts = 0;
  const engine = new RuleEngine(rules, {
    store: new MemoryWindowStore(),
    log: memoryLogger(),
    deliver: async (a) => {
      alerts += a.length;
    },
  });
  const p = testPipeline(
    { parser: new CloudTrailParser(), sinks: [new NullNdjsonSink()] },
    {
      delivery: { maxAttempts: 1, backoff: { baseMs: 1, maxMs: 1 }, chunkEvents: 2000 },
      ...(withRules ? { detector: engine } : {}),
    },
  );
  let events = 0;
  for (let done = 0, n = 0; done < TOTAL; done += PER_FILE, n++) {
    const items: RawItem[] = [
      {
        ackId: String(n),
        origin: { source: 'bench', type: 's3', ref: `s3://bench/trail-${n}.json` },
        body: { kind: 'bytes', bytes: files[n % files.length]! },
      },
    ];
    events += (await runBatch({ source: 'bench', items }, p)).events;
  }
  if (p.deadLetter.entries.length) throw new Error(`dead letters: ${p.deadLetter.entries[0]!.error}`);
  return { events, alerts };
}

await run(false);
await run(true);
let best = { base: Infinity, ours: Infinity, baseCpu: Infinity, oursCpu: Infinity, rss: 0, alerts: 0 };
for (let round = 0; round < 2; round++) {
  const b = await measure(() => run(false));
  const o = await measure(() => run(true));
  progress(
    `round ${round + 1}: baseline ${b.seconds.toFixed(2)} s (${b.cpuSeconds.toFixed(2)} s CPU), with rules ${o.seconds.toFixed(2)} s (${o.cpuSeconds.toFixed(2)} s CPU), ${o.value.alerts} alerts`,
  );
  best = {
    base: Math.min(best.base, b.seconds),
    ours: Math.min(best.ours, o.seconds),
    baseCpu: Math.min(best.baseCpu, b.cpuSeconds),
    oursCpu: Math.min(best.oursCpu, o.cpuSeconds),
    rss: Math.max(best.rss, o.peakRssMb),
    alerts: o.value.alerts,
  };
}
const events = Math.ceil(TOTAL / PER_FILE) * PER_FILE;
console.log(
  JSON.stringify(
    result('rules', events, best.ours, events, best.base, best.rss, {
      rules: rules.length,
      alerts: best.alerts,
      // On a shared machine CPU time is steadier than wall time (other processes take turns).
      cpu_ratio: Math.round((best.baseCpu / best.oursCpu) * 1000) / 1000,
    }),
  ),
);

// V8 takes 44 s for the first on 41 characters; the linear engine must stay in milliseconds on
// the longest text a rule reads (64 KiB).
const HOSTILE: [string, TextTest, string][] = [
  ['regex (a|aa)+$', compileRegex('(a|aa)+$'), `${'a'.repeat(65_535)}b`],
  ['regex a*a*a*a*a*b', compileRegex('a*a*a*a*a*b'), 'a'.repeat(65_536)],
  ['regex ([a-z]|[a-c])+$', compileRegex('([a-z]|[a-c])+$'), `${'c'.repeat(65_535)}!`],
  ['regex (\\w+\\s?)+$', compileRegex('(\\w+\\s?)+$'), `${'word '.repeat(13_107)}!`],
  // `\\` is a literal backslash: `.*\\.*\\.*\.exe` as a backtracking regex is cubic.
  ['wildcard *\\\\*\\\\*.exe', compileGlob('*\\\\*\\\\*.exe', true), `${'\\'.repeat(65_532)}.exe`],
  ['wildcard *a?a?a?a?b*', compileGlob('*a?a?a?a?b*', true), 'a'.repeat(65_536)],
  ['wildcard *a*a*a*a*a*a*c', compileGlob('*a*a*a*a*a*a*c', true), 'a'.repeat(65_536)],
];
for (const [name, test, text] of HOSTILE) {
  const t = await measure(async () => test(text));
  progress(
    `pathological ${name} on ${text.length} chars: ${(t.seconds * 1000).toFixed(1)} ms, match ${t.value}`,
  );
}
