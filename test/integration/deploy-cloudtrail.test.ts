/**
 * The CloudTrail alert tutorial as deployed: the CloudTrailAlerts construct's template gives the
 * wiring (notification prefix, function variables, topic), and the zip `npm run synth` would
 * upload runs on Node 24 from an unpacked copy, against s3rver (the trail bucket) and fauxqs (the
 * topic, with an SQS subscription standing in for the email one).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLambda, ROOT, zipDir } from '../../infra/bundle.js';
import { LogferryConfig } from '../../infra/config.js';
import { CloudTrailAlerts } from '../../infra/layouts.js';
import { type S3Emulator, startS3 } from '../../src/testing/s3rver.js';

// aws-alerts.yaml's shape, with the emulators' endpoints as two more variables (stack parameters).
const CONFIG = `
state:
  type: file
  path: \${LOGFERRY_STATE_DIR}
dead_letter:
  type: file
  path: \${LOGFERRY_DEAD_LETTER_DIR}
sources:
  - name: trails
    type: s3_sqs
    s3:
      region: us-east-1
      endpoint: \${S3_ENDPOINT}
      force_path_style: true
      credentials: { access_key_id: S3RVER, secret_access_key: S3RVER }
sinks:
  - { name: out, type: stdout }
rules:
  paths: [rules/aws]
  window_store: { type: memory, persist: false }
alerts:
  outputs:
    - name: email
      type: sns
      topic_arn: \${ALERT_TOPIC_ARN}
      region: us-east-1
      endpoint: \${SNS_ENDPOINT}
      credentials: { access_key_id: test, secret_access_key: test }
  default_outputs: [email]
`;

const STOP_LOGGING = {
  eventVersion: '1.08',
  userIdentity: {
    type: 'IAMUser',
    principalId: 'AIDAEXAMPLE',
    arn: 'arn:aws:iam::123456789012:user/Alice',
    accountId: '123456789012',
    userName: 'Alice',
  },
  eventTime: '2026-11-25T11:02:09Z',
  eventSource: 'cloudtrail.amazonaws.com',
  eventName: 'StopLogging',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.77',
  userAgent: 'aws-cli/2.15.0',
  requestParameters: { name: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/management-events' },
  responseElements: null,
  requestID: 'f2b5a4e6-1c3d-4b6a-9e8f-0a1b2c3d4e5f',
  eventID: '2d3c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a',
  readOnly: false,
  eventType: 'AwsApiCall',
  managementEvent: true,
  recipientAccountId: '123456789012',
};

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;
let dir: string;
let s3: S3Emulator;
let fq: Fauxqs;
let template: Template;
let taskRoot: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'logferry-deploy-'));
  const config = LogferryConfig.fromText(CONFIG, 'tutorial.yaml');
  const stack = new Stack(new App(), 'Tutorial');
  new CloudTrailAlerts(stack, 'Alerts', {
    config,
    code: Code.fromInline('export const handler = async () => ({});'),
    email: 'security@example.com',
  });
  template = Template.fromStack(stack);
  // The zip, built as the CDK app builds it, then unpacked as Lambda unpacks it into /var/task.
  const bundle = join(dir, 'bundle');
  await bundleLambda({
    handler: 's3',
    outdir: bundle,
    config: config.shape(),
    rulesBase: ROOT,
    mapdir: join(dir, 'map'),
  });
  await zipDir(bundle, join(dir, 's3.zip'));
  taskRoot = join(dir, 'task');
  await mkdir(taskRoot);
  const unzip = spawnSync('unzip', ['-q', join(dir, 's3.zip'), '-d', taskRoot], { encoding: 'utf8' });
  if (unzip.status !== 0) throw new Error(`unzip: ${unzip.stderr}`);
  s3 = await startS3();
  fq = await startFauxqs({ port: 0, logger: false });
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  await fq?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The function's variables from the template, with each reference replaced by what it names here. */
function functionEnv(refs: Record<string, string>): Record<string, string> {
  const fns = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment?: { Variables: Record<string, unknown> } };
  }[];
  const vars = fns.find((f) => f.Properties.Environment?.Variables.LOGFERRY_CONFIG_YAML)!.Properties
    .Environment!.Variables;
  return Object.fromEntries(
    Object.entries(vars).map(([k, v]) => {
      if (typeof v === 'string') return [k, v.replace(/^\/tmp\/logferry\//, `${dir}/tmp/`)];
      const ref = (v as { Ref?: string }).Ref;
      if (!ref || refs[ref] === undefined) throw new Error(`${k}: nothing here for ${JSON.stringify(v)}`);
      return [k, refs[ref]];
    }),
  );
}

describe('CloudTrail alert tutorial from the synthesized wiring and the zip', () => {
  it('ships the rules in the zip and no source map', () => {
    const list = spawnSync('unzip', ['-Z1', join(dir, 's3.zip')], { encoding: 'utf8' }).stdout.split('\n');
    expect(list).toContain('rules/aws/cloudtrail-tampering.yaml');
    expect(list).toContain('index.mjs');
    expect(list.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('trail object → notification → function → SNS topic → subscriber', async () => {
    const client = {
      region: 'us-east-1',
      endpoint: fq.address,
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    };
    const sns = new SNSClient(client);
    const sqs = new SQSClient(client);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'security-alerts' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'mailbox' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn }));

    // What the template says: the email subscription, and which objects notify the function.
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'security@example.com',
    });
    const [notification] = Object.values(template.findResources('Custom::S3BucketNotifications')) as {
      Properties: {
        NotificationConfiguration: {
          LambdaFunctionConfigurations: {
            Events: string[];
            Filter: { Key: { FilterRules: { Value: string }[] } };
          }[];
        };
      };
    }[];
    const wiring = notification!.Properties.NotificationConfiguration.LambdaFunctionConfigurations[0]!;
    expect(wiring.Events).toEqual(['s3:ObjectCreated:*']);
    const prefix = wiring.Filter.Key.FilterRules[0]!.Value;

    await s3.createBucket('trail-bucket');
    const key = `${prefix}123456789012/CloudTrail/us-east-1/2026/11/25/123456789012_CloudTrail_us-east-1_20261125T1105Z_a1b2c3d4.json.gz`;
    const body = gzipSync(JSON.stringify({ Records: [STOP_LOGGING] }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'trail-bucket', Key: key, Body: body }));
    const event = {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: '2026-11-25T11:05:00.000Z',
          eventName: 'ObjectCreated:Put',
          s3: {
            s3SchemaVersion: '1.0',
            bucket: { name: 'trail-bucket', arn: 'arn:aws:s3:::trail-bucket' },
            object: { key, size: body.length, eTag: 'etag-1', sequencer: '0055AED6DCD90281E5' },
          },
        },
      ],
    };
    const topic = Object.keys(template.findResources('AWS::SNS::Topic'))[0]!;
    const env = functionEnv({ [topic]: TopicArn!, S3ENDPOINT: s3.endpoint, SNSENDPOINT: fq.address });

    const node24 = spawnSync(
      join(ROOT, 'tools/node24/run.sh'),
      ['-e', 'process.stdout.write(process.execPath)'],
      {
        encoding: 'utf8',
      },
    ).stdout;
    const script = `
      const { handler } = await import('./index.mjs');
      const res = await handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 60000 });
      process.stderr.write(JSON.stringify(res));
      process.exit(0); // kept-alive connections would hold the process, as they do a Lambda sandbox`;
    // Asynchronously: the emulators run in this process and must keep answering.
    const r = await promisify(execFile)(node24, ['--input-type=module', '-e', script], {
      cwd: taskRoot, // Lambda's working directory is the unpacked zip: rules/ is found there
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        LOGFERRY_LOG_LEVEL: 'silent',
        EVENT: JSON.stringify(event),
        ...env,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(JSON.parse(r.stderr)).toEqual({ objects: 1, events: 1, dead_lettered: 0, skipped: [] });

    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    expect(got.Messages).toHaveLength(1);
    const msg = JSON.parse(got.Messages![0]!.Body!) as { Subject: string; Message: string };
    expect(msg.Subject).toMatch(/^\[logferry\] HIGH: CloudTrail logging stopped/);
    expect(msg.Message).toContain('StopLogging');
  });
});
