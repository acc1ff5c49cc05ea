import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LogferryConfig } from './config.js';
import { DuoPull, LogGroupSubscription, type LogGroupSubscriptionProps } from './layouts.js';
import { EXAMPLE_STACKS, exampleStacks } from './stacks.js';

// The handler code does not matter to the templates; the real bundles are tested in bundle.test.ts.
const code = () => Code.fromInline('export const handler = async () => ({});');
let templates: Record<string, Template>;
let synthError: unknown;

beforeAll(() => {
  const app = new App();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stacks = exampleStacks(app, code, {
    commons: 'acme',
    childAccounts: ['111111111111', '222222222222'],
    childLogGroups: ['/aws/vpc/flow-logs'],
  });
  try {
    app.synth();
  } catch (e) {
    synthError = e;
  }
  templates = Object.fromEntries(stacks.map((s) => [s.stackName, Template.fromStack(s)]));
}, 60_000);

type Statement = { Action: string | string[]; Resource: unknown };
function roleStatements(t: Template, logicalPrefix: string): Statement[] {
  const policies = t.findResources('AWS::IAM::Policy');
  return Object.entries(policies)
    .filter(([id]) => id.startsWith(logicalPrefix))
    .flatMap(
      ([, p]) =>
        (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument
          .Statement,
    );
}
const actions = (ss: Statement[]) =>
  ss.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

describe('example stacks', () => {
  it('synthesize every example config with no unacknowledged cdk-nag (AwsSolutions) finding', () => {
    expect(synthError).toBeUndefined();
    expect(Object.keys(templates).sort()).toEqual(
      [...Object.keys(EXAMPLE_STACKS), 'logferry-csoc-child'].sort(),
    );
  });

  it('run every logferry function on nodejs24.x with the config inline', () => {
    for (const [name, t] of Object.entries(templates)) {
      if (name === 'logferry-csoc-child') continue;
      t.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Environment: {
          Variables: Match.objectLike({ LOGFERRY_CONFIG_YAML: Match.stringLikeRegexp('sources:') }),
        },
      });
    }
  });

  it('give no logferry role a statement on every resource', () => {
    for (const t of Object.values(templates))
      for (const [id, p] of Object.entries(t.findResources('AWS::IAM::Policy'))) {
        if (id.startsWith('BucketNotificationsHandler')) continue;
        const ss = (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties
          .PolicyDocument.Statement;
        for (const s of ss) expect(s.Resource, id).not.toBe('*');
      }
  });
});

describe('Duo pull', () => {
  it('runs every 10 minutes, one at a time, with exactly the grants its config needs', () => {
    const t = templates['logferry-duo-pull']!;
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(10 minutes)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    t.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 600,
    });
    expect(actions(roleStatements(t, 'DuoPullRole'))).toEqual([
      'kinesis:PutRecords',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:DeleteObject',
      's3:GetObject',
      's3:PutObject',
      'secretsmanager:GetSecretValue',
    ]);
    const secret = roleStatements(t, 'DuoPullRole').find(
      (s) => s.Action === 'secretsmanager:GetSecretValue',
    )!;
    expect(JSON.stringify(secret.Resource)).toContain(':secret:duo/admin-api-??????');
    // The variables the stack does not create resources for become parameters.
    t.hasParameter('DUOAPIHOST', { Type: 'String' });
    t.hasParameter('DUOIKEY', { Type: 'String' });
  });

  it('refuses a schedule outside 5 to 15 minutes', () => {
    const stack = new Stack(new App(), 'S');
    const config = LogferryConfig.fromFile(EXAMPLE_STACKS['logferry-duo-pull']!.config);
    expect(() => new DuoPull(stack, 'D', { config, code: code(), every: Duration.minutes(1) })).toThrow(
      /5 to 15/,
    );
  });
});

describe('central logging', () => {
  it('consumes the stream with partial failures, bisect, bounded retries and an on-failure queue', () => {
    const t = templates['logferry-csoc-logging']!;
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    t.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'acme-central-logging' });
    t.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 1);
  });

  it('lets only the named child accounts subscribe, through a role CloudWatch Logs assumes', () => {
    const t = templates['logferry-csoc-logging']!;
    const dest = Object.values(t.findResources('AWS::Logs::Destination'))[0] as {
      Properties: { DestinationPolicy: unknown; DestinationName: string };
    };
    expect(dest.Properties.DestinationName).toBe('acme-central-logging');
    const policy = JSON.stringify(dest.Properties.DestinationPolicy);
    expect(policy).toContain('"AWS\\":[\\"111111111111\\",\\"222222222222\\"]');
    expect(policy).toContain('logs:PutSubscriptionFilter');
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'logs.amazonaws.com' } })],
      },
    });
    templates['logferry-csoc-child']!.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/aws/vpc/flow-logs',
      DestinationArn: { Ref: 'DestinationArn' },
    });
  });

  it('signs OpenSearch requests with a role limited to the named domain', () => {
    const ss = roleStatements(templates['logferry-csoc-logging']!, 'Consumer');
    const es = ss.find((s) => actions([s]).includes('es:ESHttpPost'))!;
    expect(es.Resource).toEqual({ 'Fn::Join': ['', [{ Ref: 'OpenSearchDomainArn' }, '/*']] });
  });
});

describe('CloudWatch Logs subscribed straight to the function', () => {
  it('subscribes each log group to the cwlogs function, which only CloudWatch Logs of this account may invoke for those groups', () => {
    const t = templates['logferry-cwlogs-direct']!;
    const fnId = Object.keys(t.findResources('AWS::Lambda::Function')).find((id) =>
      id.startsWith('SubscriptionReceiver'),
    )!;
    t.hasResourceProperties('AWS::Logs::SubscriptionFilter', {
      LogGroupName: '/aws/vpc/flow-logs',
      DestinationArn: { 'Fn::GetAtt': [fnId, 'Arn'] },
      FilterPattern: '',
    });
    const permissions = Object.values(t.findResources('AWS::Lambda::Permission')).map(
      (p) => (p as { Properties: Record<string, unknown> }).Properties,
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'logs.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    expect(JSON.stringify(permissions[0]!.SourceArn)).toContain(':log-group:/aws/vpc/flow-logs:*');
    // The filter is created after the permission, which CloudWatch Logs checks at creation.
    const filter = Object.values(t.findResources('AWS::Logs::SubscriptionFilter'))[0] as {
      DependsOn?: string[];
    };
    expect(filter.DependsOn?.some((d) => d.startsWith('SubscriptionReceiver'))).toBe(true);
  });

  it('bounds the asynchronous retries and sends what Lambda gives up on to an SQS queue', () => {
    const t = templates['logferry-cwlogs-direct']!;
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SubscriptionOnFailure'), 'Arn'] },
        },
      },
    });
    const ss = roleStatements(t, 'SubscriptionReceiver');
    expect(actions(ss)).toContain('sqs:SendMessage');
    expect(actions(ss).some((a) => a.startsWith('kinesis:'))).toBe(false);
  });

  it('refuses retries beyond what Lambda allows and names without a log group', () => {
    const stack = new Stack(new App());
    const config = LogferryConfig.fromFile(EXAMPLE_STACKS['logferry-cwlogs-direct']!.config);
    const make = (id: string, extra: Partial<LogGroupSubscriptionProps>) =>
      new LogGroupSubscription(stack, id, { config, code: code(), logGroupNames: ['/app'], ...extra });
    expect(() => make('A', { retryAttempts: 3 })).toThrow(/0 to 2/);
    expect(() => make('B', { logGroupNames: [] })).toThrow(/at least one log group/);
    expect(() => make('C', { logGroupNames: ['a"b'] })).toThrow(/a"b/);
  });
});

describe('CloudTrail alerts', () => {
  it('wires the trail bucket to the function and the function to an SNS topic with an email subscription', () => {
    const t = templates['logferry-cloudtrail-alerts']!;
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          Match.objectLike({
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'AWSLogs/' }] } },
          }),
        ],
      },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: { Ref: 'AlertEmail' } });
    const topic = Object.keys(t.findResources('AWS::SNS::Topic'))[0]!;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ALERT_TOPIC_ARN: { Ref: topic } }) },
    });
    const publish = roleStatements(t, 'CloudTrailAlertsDetectRole').find((s) => s.Action === 'sns:Publish')!;
    expect(publish.Resource).toEqual({ Ref: topic });
    // Windowed rules keep their counts in a table the stack creates.
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });
});

describe('load balancer logs', () => {
  it('expires logs after 7 days, lets load balancers deliver, and limits the invoke permission to the bucket', () => {
    const t = templates['logferry-elb-logs']!;
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })] },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 's3:PutObject',
            Principal: { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
          }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 's3.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LoadBalancerLogsLogBucket'), 'Arn'] },
    });
  });
});

describe('Firehose archive with the transformation handler', () => {
  it('lets Firehose invoke only the transformation function, which gets no sink grants', () => {
    const t = templates['logferry-csoc-logging']!;
    t.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        CompressionFormat: 'GZIP',
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [Match.objectLike({ Type: 'Lambda' })],
        },
      }),
    });
    const firehose = roleStatements(t, 'ConsumerFirehoseRole').find((s) =>
      actions([s]).includes('lambda:InvokeFunction'),
    )!;
    expect(JSON.stringify(firehose.Resource)).toMatch(/ConsumerTransformFunction/);
    expect(actions(roleStatements(t, 'ConsumerTransformRole')).filter((a) => a.startsWith('es:'))).toEqual(
      [],
    );
  });
});
