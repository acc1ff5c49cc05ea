/**
 * One construct per deployment layout of logferry (the four Lambda systems it replaces). Each
 * creates the resources the layout needs, binds them to the config's `${VAR}`s where the config
 * names them by a variable, and leaves the rest to stack parameters (see LogferryFunction).
 */
import { ArnFormat, Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, IVpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { AccountPrincipal, Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IStream, Stream, StreamEncryption } from 'aws-cdk-lib/aws-kinesis';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { type Code, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination as SqsOnFailure } from 'aws-cdk-lib/aws-lambda-destinations';
import { KinesisEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { CfnDestination, CfnSubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, EventType, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination, SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConfigError } from '../src/core/errors.js';
import type { LogferryConfig } from './config.js';
import { LogferryFunction } from './function.js';
import type { GrantOptions } from './grants.js';
import { acknowledge, acknowledgeReviewedWildcards, reviewedWildcards } from './nag.js';

/** One access-log bucket per stack, the target of every other bucket's server access logs. */
function accessLogs(scope: Construct): Bucket {
  const stack = Stack.of(scope);
  const found = stack.node.tryFindChild('AccessLogs');
  if (found instanceof Bucket) return found;
  const b = new Bucket(stack, 'AccessLogs', {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(90) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(b, 'AwsSolutions-S1', 'This is the access-log bucket: logging it into itself would loop');
  return b;
}

/** Encrypted, private, TLS-only, access-logged; kept when the stack is deleted (it holds logs or state). */
function secureBucket(scope: Construct, id: string, expiry?: Duration): Bucket {
  return new Bucket(scope, id, {
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: expiry === undefined,
    serverAccessLogsBucket: accessLogs(scope),
    serverAccessLogsPrefix: `${id}/`,
    lifecycleRules: expiry ? [{ expiration: expiry }] : undefined,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}

function secureTopic(scope: Construct, id: string): Topic {
  return new Topic(scope, id, {
    masterKey: Alias.fromAliasName(scope, `${id}Key`, 'alias/aws/sns'),
    enforceSSL: true,
  });
}

/** The queue for what Lambda gave up on: encrypted, TLS-only, kept 14 days. */
function failureQueue(scope: Construct, id: string): Queue {
  const q = new Queue(scope, id, {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(
    q,
    'AwsSolutions-SQS3',
    'This queue is itself the on-failure destination (a dead-letter queue)',
  );
  return q;
}

/** Binds `value` to the variable at `path` of the config, if the config names one there. */
function bindAt(
  config: LogferryConfig,
  bindings: Record<string, string>,
  path: (string | number)[],
  value: () => string,
): boolean {
  const v = config.variableAt(path);
  if (!v) return false;
  bindings[v] ??= value();
  return true;
}

/** Buckets and tables the config's state and dead letters name by variable: created here. */
function bindStores(scope: Construct, config: LogferryConfig, bindings: Record<string, string>): void {
  const shape = config.shape();
  let bucket: Bucket | undefined;
  const stateBucket = () => {
    bucket ??= secureBucket(scope, 'StateBucket');
    return bucket.bucketName;
  };
  if (shape.state.type === 's3') bindAt(config, bindings, ['state', 'bucket'], stateBucket);
  if (shape.state.type === 'dynamodb')
    bindAt(config, bindings, ['state', 'table'], () => {
      const key = shape.state.type === 'dynamodb' ? shape.state.key_attribute : 'id';
      return new Table(scope, 'StateTable', {
        partitionKey: { name: key, type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        encryption: TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: RemovalPolicy.RETAIN,
      }).tableName;
    });
  if (shape.dead_letter.type === 's3') bindAt(config, bindings, ['dead_letter', 'bucket'], stateBucket);
  if (shape.rules?.window_store.type === 'dynamodb')
    bindAt(
      config,
      bindings,
      ['rules', 'window_store', 'table'],
      () =>
        new Table(scope, 'RuleWindows', {
          partitionKey: { name: 'pk', type: AttributeType.STRING },
          sortKey: { name: 'sk', type: AttributeType.NUMBER },
          timeToLiveAttribute: 'ttl',
          billingMode: BillingMode.PAY_PER_REQUEST,
          encryption: TableEncryption.AWS_MANAGED,
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        }).tableName,
    );
}

export interface LayoutProps {
  config: LogferryConfig;
  code: Code;
  bindings?: Record<string, string>;
  grants?: GrantOptions;
}

// ---------------------------------------------------------------------------------------------

export interface DuoPullProps extends LayoutProps {
  /** How often the pull runs: 5 to 15 minutes, as the Go function's template (default 10). */
  every?: Duration;
}

/** Scheduled Duo pull: EventBridge → function; checkpoints in S3 or DynamoDB; Kinesis out. */
export class DuoPull extends Construct {
  readonly function: LogferryFunction;
  readonly rule: Rule;
  readonly streams: Stream[] = [];

  constructor(scope: Construct, id: string, props: DuoPullProps) {
    super(scope, id);
    const every = props.every ?? Duration.minutes(10);
    if (every.toMinutes() < 5 || every.toMinutes() > 15)
      throw new ConfigError(`the Duo pull runs every 5 to 15 minutes, not ${every.toMinutes()}`);
    const bindings = { ...props.bindings };
    bindStores(this, props.config, bindings);
    props.config.shape().sinks.forEach((s, i) => {
      if (s.type === 'kinesis')
        bindAt(props.config, bindings, ['sinks', i, 'stream'], () => {
          const st = new Stream(this, `Stream${i}`, { encryption: StreamEncryption.MANAGED, shardCount: 1 });
          this.streams.push(st);
          return st.streamName;
        });
    });
    this.function = new LogferryFunction(this, 'Pull', {
      ...props,
      handler: 'duo',
      bindings,
      // A pull that runs into the next schedule must not start a second reader of the same checkpoints.
      reservedConcurrency: 1,
      timeout: Duration.minutes(Math.min(every.toMinutes(), 15)),
    });
    this.rule = new Rule(this, 'Schedule', { schedule: Schedule.rate(every) });
    this.rule.addTarget(new LambdaTarget(this.function.fn, { retryAttempts: 0 }));
    // A failed pull is not retried: the next schedule goes on from the checkpoints.
    this.function.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: every });
  }
}

// ---------------------------------------------------------------------------------------------

export interface CentralLoggingDestinationProps {
  /** The "commons" name: prefixes the stream and destination. */
  commons: string;
  /** Child accounts allowed to subscribe their log groups. */
  childAccounts: string[];
  shardCount?: number;
}

/** In the logging account: the stream, and the CloudWatch Logs destination child accounts write to. */
export class CentralLoggingDestination extends Construct {
  readonly stream: Stream;
  readonly destination: CfnDestination;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: CentralLoggingDestinationProps) {
    super(scope, id);
    if (!/^[\w-]{1,40}$/.test(props.commons))
      throw new ConfigError(`commons '${props.commons}': letters, digits, - and _ only`);
    const bad = props.childAccounts.filter((a) => !/^\d{12}$/.test(a));
    if (bad.length) throw new ConfigError(`child accounts must be 12-digit ids: ${bad.join(', ')}`);
    this.stream = new Stream(this, 'Stream', {
      streamName: `${props.commons}-central-logging`,
      encryption: StreamEncryption.MANAGED,
      shardCount: props.shardCount ?? 1,
    });
    const destinationName = `${props.commons}-central-logging`;
    this.role = new Role(this, 'LogsRole', {
      assumedBy: new ServicePrincipal('logs.amazonaws.com', {
        conditions: {
          StringLike: {
            'aws:SourceArn': props.childAccounts.map((a) => `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${a}:*`),
          },
        },
      }),
      description: 'CloudWatch Logs puts the child accounts subscriptions into the central stream',
    });
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['kinesis:PutRecord', 'kinesis:PutRecords'],
        resources: [this.stream.streamArn],
      }),
    );
    this.destination = new CfnDestination(this, 'Destination', {
      destinationName,
      roleArn: this.role.roleArn,
      targetArn: this.stream.streamArn,
      destinationPolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: props.childAccounts },
            Action: 'logs:PutSubscriptionFilter',
            Resource: `arn:${Stack.of(this).partition}:logs:${Stack.of(this).region}:${Stack.of(this).account}:destination:${destinationName}`,
          },
        ],
      }),
    });
    this.destination.node.addDependency(this.role);
  }
}

export interface ChildAccountSubscriptionProps {
  destinationArn: string;
  logGroupNames: string[];
  filterPattern?: string;
}

/** In each child account: one subscription filter per log group, to the central destination. */
export class ChildAccountSubscription extends Construct {
  constructor(scope: Construct, id: string, props: ChildAccountSubscriptionProps) {
    super(scope, id);
    props.logGroupNames.forEach((name, i) => {
      new CfnSubscriptionFilter(this, `Filter${i}`, {
        logGroupName: name,
        destinationArn: props.destinationArn,
        filterPattern: props.filterPattern ?? '',
      });
    });
  }
}

export interface CentralLoggingConsumerProps extends LayoutProps {
  stream: IStream;
  /** Records per invocation (default 500) and retries before the on-failure queue (default 3). */
  batchSize?: number;
  retryAttempts?: number;
  /** Also copy the raw stream to S3 through Firehose (the archive of record). */
  archive?: boolean;
  /**
   * Normalize what Firehose archives with logferry's Firehose-transformation handler (its own
   * config and bundle; its sinks are not written, the events go back to Firehose).
   */
  archiveTransform?: { config: LogferryConfig; code: Code; bindings?: Record<string, string> };
}

/** The consumer: Kinesis → function (partial batch failures, bisect, bounded retries, on-failure queue). */
export class CentralLoggingConsumer extends Construct {
  readonly function: LogferryFunction;
  readonly onFailure: Queue;
  archiveBucket?: Bucket;

  constructor(scope: Construct, id: string, props: CentralLoggingConsumerProps) {
    super(scope, id);
    const bindings = { ...props.bindings };
    bindStores(this, props.config, bindings);
    props.config.shape().sources.forEach((s, i) => {
      if (s.type === 'kinesis')
        bindAt(props.config, bindings, ['sources', i, 'stream'], () => props.stream.streamName);
    });
    this.function = new LogferryFunction(this, 'Consumer', { ...props, handler: 'kinesis', bindings });
    this.bindings = bindings;
    this.onFailure = failureQueue(this, 'OnFailure');
    this.function.fn.addEventSource(
      new KinesisEventSource(props.stream, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 500,
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: props.retryAttempts ?? 3,
        maxRecordAge: Duration.days(1),
        onFailure: new SqsDlq(this.onFailure),
      }),
    );
    if (props.archive || props.archiveTransform)
      this.archiveBucket = this.firehoseArchive(props.stream, props.archiveTransform);
  }

  /** The transformation function, when the archive is normalized. */
  transform?: LogferryFunction;
  private bindings: Record<string, string> = {};

  private firehoseArchive(
    stream: IStream,
    transform?: CentralLoggingConsumerProps['archiveTransform'],
  ): Bucket {
    const bucket = secureBucket(this, 'Archive');
    const role = new Role(this, 'FirehoseRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com'),
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: [
          'kinesis:DescribeStream',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
          'kinesis:ListShards',
        ],
        resources: [stream.streamArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: [
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
        ],
        resources: [bucket.bucketArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [bucket.arnForObjects('raw/*')],
      }),
    );
    reviewedWildcards(role, 'Firehose writes objects below the raw/ prefix of the archive bucket only');
    const delivery = new CfnDeliveryStream(this, 'ToS3', {
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: stream.streamArn, roleArn: role.roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: bucket.bucketArn,
        roleArn: role.roleArn,
        prefix: 'raw/',
        errorOutputPrefix: 'raw-errors/',
        compressionFormat: transform ? 'GZIP' : 'UNCOMPRESSED',
        bufferingHints: { intervalInSeconds: 300, sizeInMBs: 64 },
        processingConfiguration: transform ? this.transformProcessor(role, transform) : undefined,
      },
    });
    delivery.node.addDependency(role);
    acknowledge(
      delivery,
      'AwsSolutions-KDF1',
      'A Kinesis-sourced delivery stream takes the source stream encryption; the bucket is encrypted',
    );
    return bucket;
  }

  private transformProcessor(
    firehoseRole: Role,
    transform: NonNullable<CentralLoggingConsumerProps['archiveTransform']>,
  ): CfnDeliveryStream.ProcessingConfigurationProperty {
    // The consumer's resources serve the transformation too; what only it names gets its own.
    const bindings = { ...this.bindings, ...transform.bindings };
    bindStores(new Construct(this, 'TransformStores'), transform.config, bindings);
    this.transform = new LogferryFunction(this, 'Transform', {
      config: transform.config,
      code: transform.code,
      handler: 'firehose',
      bindings,
      // Firehose waits for the transformation at most 5 minutes per invocation.
      timeout: Duration.minutes(5),
    });
    firehoseRole.addToPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
        resources: [this.transform.fn.functionArn],
      }),
    );
    return {
      enabled: true,
      processors: [
        {
          type: 'Lambda',
          parameters: [
            { parameterName: 'LambdaArn', parameterValue: this.transform.fn.functionArn },
            { parameterName: 'BufferSizeInMBs', parameterValue: '1' },
            { parameterName: 'BufferIntervalInSeconds', parameterValue: '60' },
          ],
        },
      ],
    };
  }
}

// ---------------------------------------------------------------------------------------------

export interface LogGroupSubscriptionProps extends LayoutProps {
  /** Log groups of this account and Region whose events go straight to the function. */
  logGroupNames: string[];
  filterPattern?: string;
  /** Lambda's retries of a failed invocation (0 to 2, default 2) before the on-failure queue. */
  retryAttempts?: number;
  /** How long Lambda keeps retrying an event (1 minute to 6 hours, default 6 hours). */
  maxEventAge?: Duration;
}

/**
 * CloudWatch Logs subscribed straight to the function (handler `cwlogs`), without a stream: each
 * log group's subscription filter invokes it asynchronously; what Lambda gives up on after the
 * bounded retries goes to an SQS queue.
 */
export class LogGroupSubscription extends Construct {
  readonly function: LogferryFunction;
  readonly onFailure: Queue;
  readonly filters: CfnSubscriptionFilter[] = [];

  constructor(scope: Construct, id: string, props: LogGroupSubscriptionProps) {
    super(scope, id);
    if (!props.logGroupNames.length) throw new ConfigError('name at least one log group to subscribe');
    const bad = props.logGroupNames.filter((n) => !/^[\w\-/.#]{1,512}$/.test(n));
    if (bad.length)
      throw new ConfigError(`log group names: letters, digits, _ - / . # only: ${bad.join(', ')}`);
    const retries = props.retryAttempts ?? 2;
    if (!Number.isInteger(retries) || retries < 0 || retries > 2)
      throw new ConfigError(`retryAttempts is 0 to 2 for an asynchronous invocation, not ${retries}`);
    const bindings = { ...props.bindings };
    bindStores(this, props.config, bindings);
    this.function = new LogferryFunction(this, 'Receiver', { ...props, handler: 'cwlogs', bindings });
    this.onFailure = failureQueue(this, 'OnFailure');
    // The handler throws on retryable delivery failures so that these retries run; unreadable input is dead-lettered.
    this.function.fn.configureAsyncInvoke({
      retryAttempts: retries,
      maxEventAge: props.maxEventAge ?? Duration.hours(6),
      onFailure: new SqsOnFailure(this.onFailure),
    });
    const stack = Stack.of(this);
    props.logGroupNames.forEach((name, i) => {
      const logGroupArn = stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: `${name}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      // One permission per log group: CloudWatch Logs of this account, for that group only.
      const permission = `Invoke${i}`;
      this.function.fn.addPermission(permission, {
        principal: new ServicePrincipal('logs.amazonaws.com'),
        action: 'lambda:InvokeFunction',
        sourceArn: logGroupArn,
        sourceAccount: Aws.ACCOUNT_ID,
      });
      const filter = new CfnSubscriptionFilter(this, `Filter${i}`, {
        logGroupName: name,
        destinationArn: this.function.fn.functionArn,
        filterPattern: props.filterPattern ?? '',
      });
      // CloudWatch Logs checks that it may invoke the function when the filter is created.
      filter.node.addDependency(this.function.fn.node.findChild(permission));
      this.filters.push(filter);
    });
  }
}

// ---------------------------------------------------------------------------------------------

export interface CloudTrailAlertsProps extends LayoutProps {
  /** The trail's bucket; created (with the CloudTrail bucket policy left to the trail) when absent. */
  trailBucket?: Bucket;
  /** Who gets the alert emails. */
  email: string;
  /** `direct`: the bucket invokes the function; `sqs`: through a queue (fan-out, batching, retries). */
  notify?: 'direct' | 'sqs';
}

/** Trail bucket notification → function (rules) → SNS topic with an email subscription. */
export class CloudTrailAlerts extends Construct {
  readonly function: LogferryFunction;
  readonly topic: Topic;
  readonly trailBucket: Bucket;
  queue?: Queue;

  constructor(scope: Construct, id: string, props: CloudTrailAlertsProps) {
    super(scope, id);
    const shape = props.config.shape();
    if (!shape.rules)
      throw new ConfigError(`${props.config.name}: the CloudTrail alert layout needs a rules section`);
    this.trailBucket = props.trailBucket ?? secureBucket(this, 'TrailBucket');
    this.topic = secureTopic(this, 'Alerts');
    this.topic.addSubscription(new EmailSubscription(props.email));
    const bindings = { ...props.bindings };
    bindStores(this, props.config, bindings);
    const sns = (shape.alerts?.outputs ?? []).findIndex((o) => o.type === 'sns');
    if (
      sns < 0 ||
      !bindAt(props.config, bindings, ['alerts', 'outputs', sns, 'topic_arn'], () => this.topic.topicArn)
    )
      throw new ConfigError(
        `${props.config.name}: give the sns alert output \`topic_arn: \${ALERT_TOPIC_ARN}\` so it gets this topic`,
      );
    const notify = props.notify ?? 'direct';
    this.function = new LogferryFunction(this, 'Detect', {
      ...props,
      handler: notify === 'sqs' ? 'sqs' : 's3',
      bindings,
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    this.trailBucket.grantRead(this.function.role, 'AWSLogs/*');
    const filter = { prefix: 'AWSLogs/' };
    if (notify === 'direct') {
      this.trailBucket.addEventNotification(
        EventType.OBJECT_CREATED,
        new LambdaDestination(this.function.fn),
        filter,
      );
      this.function.fn.configureAsyncInvoke({ retryAttempts: 2 });
    } else {
      const dlq = failureQueue(this, 'NotificationsDlq');
      this.queue = new Queue(this, 'Notifications', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.minutes(30),
        deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
      });
      this.trailBucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.queue), filter);
      this.function.fn.addEventSource(
        new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
      );
    }
    suppressObjectRead(this.function);
  }
}

/** `grantRead` on a bucket prefix names `bucket/AWSLogs/*`: the narrowest ARN for log objects. */
function suppressObjectRead(f: LogferryFunction): void {
  reviewedWildcards(
    f.role,
    'Reads log objects below AWSLogs/ of the one log bucket (s3:GetObject*, s3:GetBucket*, s3:List* as grantRead gives); writes below the configured prefixes; its own log streams',
  );
}

// ---------------------------------------------------------------------------------------------

export interface LoadBalancerLogsProps extends LayoutProps {
  /** Days before log objects expire (default 7, as the old template). */
  expireDays?: number;
  /** For Regions older than August 2022, the Region's Elastic Load Balancing account id. */
  elbAccountId?: string;
  /** For a private OpenSearch domain. */
  vpc?: IVpc;
  securityGroups?: ISecurityGroup[];
}

/** ELB/ALB/NLB log bucket (expiry, delivery policy) → notification → function. */
export class LoadBalancerLogs extends Construct {
  readonly function: LogferryFunction;
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: LoadBalancerLogsProps) {
    super(scope, id);
    // SSE-S3: load balancers cannot write to buckets encrypted with KMS.
    this.bucket = secureBucket(this, 'LogBucket', Duration.days(props.expireDays ?? 7));
    const logs = this.bucket.arnForObjects(`AWSLogs/${Aws.ACCOUNT_ID}/*`);
    const albPrincipal = props.elbAccountId
      ? new AccountPrincipal(props.elbAccountId)
      : new ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com');
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [albPrincipal],
        actions: ['s3:PutObject'],
        resources: [logs],
      }),
    );
    // Network Load Balancers deliver through the log-delivery service.
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [logs],
        conditions: {
          StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': Aws.ACCOUNT_ID },
        },
      }),
    );
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['s3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    const bindings = { ...props.bindings };
    bindStores(this, props.config, bindings);
    this.function = new LogferryFunction(this, 'Forward', {
      ...props,
      handler: 's3',
      bindings,
      memorySize: 512,
      vpc: props.vpc,
      securityGroups: props.securityGroups,
    });
    this.bucket.grantRead(this.function.role, 'AWSLogs/*');
    // LambdaDestination limits the invoke permission by SourceAccount and SourceArn (this bucket).
    this.bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(this.function.fn), {
      prefix: 'AWSLogs/',
    });
    this.function.fn.configureAsyncInvoke({ retryAttempts: 2 });
    suppressObjectRead(this.function);
  }
}

/** Suppressions for CDK's own helper function that writes bucket notifications (call after synth-time wiring). */
export function suppressCdkHelpers(stack: Stack): void {
  acknowledgeReviewedWildcards(stack);
  for (const child of stack.node.children)
    if (child.node.id.startsWith('BucketNotificationsHandler')) {
      acknowledge(
        child,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's bucket-notification custom resource uses AWSLambdaBasicExecutionRole; it runs only at deploy time",
      );
      acknowledge(
        child,
        'AwsSolutions-IAM5[Resource::*]',
        "CDK's bucket-notification custom resource calls s3:PutBucketNotification on buckets named at deploy time",
      );
    }
}
