/**
 * The stacks `npm run synth` writes: one per example config in config/examples/aws-*.yaml, each
 * with the layout it was written for. Settings that differ per account are stack parameters.
 */
import { join } from 'node:path';
import { type App, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import { Stream } from 'aws-cdk-lib/aws-kinesis';
import type { Code } from 'aws-cdk-lib/aws-lambda';
import { ROOT } from './bundle.js';
import { LogferryConfig } from './config.js';
import type { HandlerName } from './function.js';
import {
  CentralLoggingConsumer,
  CentralLoggingDestination,
  ChildAccountSubscription,
  CloudTrailAlerts,
  DuoPull,
  LoadBalancerLogs,
  LogGroupSubscription,
  suppressCdkHelpers,
} from './layouts.js';

/** The bundle for one handler of one config (a folder asset in the app, inline code in tests). */
export type CodeFor = (configPath: string, handler: HandlerName) => Code;

export interface ExampleSettings {
  commons: string;
  childAccounts: string[];
  childLogGroups: string[];
}

const examples = (name: string) => join(ROOT, 'config/examples', name);

/** Each example stack's config and handler; `transform` adds the Firehose transformation handler. */
export const EXAMPLE_STACKS: Record<string, { config: string; handler: HandlerName; transform?: boolean }> = {
  'logferry-duo-pull': { config: examples('aws-duo.yaml'), handler: 'duo' },
  'logferry-csoc-logging': { config: examples('aws-csoc.yaml'), handler: 'kinesis', transform: true },
  'logferry-delivery': { config: examples('aws-delivery.yaml'), handler: 'kinesis' },
  // The same delivery, with log groups of the account subscribed straight to the function (no stream).
  'logferry-cwlogs-direct': { config: examples('aws-delivery.yaml'), handler: 'cwlogs' },
  'logferry-cloudtrail-alerts': { config: examples('aws-alerts.yaml'), handler: 's3' },
  'logferry-elb-logs': { config: examples('aws-s3.yaml'), handler: 's3' },
};

function openSearchArn(stack: Stack): string {
  return new CfnParameter(stack, 'OpenSearchDomainArn', {
    type: 'String',
    description:
      'ARN of the OpenSearch domain the function writes to (SigV4); map the function role to a backend role',
    allowedPattern: '^arn:aws[\\w-]*:(es|aoss):.+$',
  }).valueAsString;
}

export function exampleStacks(
  app: App,
  codeFor: CodeFor,
  settings: ExampleSettings,
  props: StackProps = {},
): Stack[] {
  const stacks: Stack[] = [];
  const stack = (id: string) => {
    const s = new Stack(app, id, {
      ...props,
      description: `logferry: ${id} (${EXAMPLE_STACKS[id]?.config.split('/').pop() ?? 'child account'})`,
    });
    stacks.push(s);
    return s;
  };
  const config = (id: string) => LogferryConfig.fromFile(EXAMPLE_STACKS[id]!.config);
  const code = (id: string) => codeFor(EXAMPLE_STACKS[id]!.config, EXAMPLE_STACKS[id]!.handler);

  const duo = stack('logferry-duo-pull');
  new DuoPull(duo, 'DuoPull', { config: config('logferry-duo-pull'), code: code('logferry-duo-pull') });

  const csoc = stack('logferry-csoc-logging');
  const dest = new CentralLoggingDestination(csoc, 'Destination', {
    commons: settings.commons,
    childAccounts: settings.childAccounts,
  });
  new CentralLoggingConsumer(csoc, 'Consumer', {
    config: config('logferry-csoc-logging'),
    code: code('logferry-csoc-logging'),
    stream: dest.stream,
    archive: true,
    // The archive holds the normalized events too (gzip NDJSON), through the Firehose transformation.
    archiveTransform: {
      config: config('logferry-csoc-logging'),
      code: codeFor(EXAMPLE_STACKS['logferry-csoc-logging']!.config, 'firehose'),
    },
    grants: { openSearchArn: openSearchArn(csoc) },
  });
  const child = stack('logferry-csoc-child');
  new ChildAccountSubscription(child, 'Subscriptions', {
    destinationArn: new CfnParameter(child, 'DestinationArn', {
      type: 'String',
      description: 'The logging account destination (output of logferry-csoc-logging)',
    }).valueAsString,
    logGroupNames: settings.childLogGroups,
  });

  const delivery = stack('logferry-delivery');
  new CentralLoggingConsumer(delivery, 'Consumer', {
    config: config('logferry-delivery'),
    code: code('logferry-delivery'),
    stream: Stream.fromStreamArn(
      delivery,
      'Stream',
      delivery.formatArn({ service: 'kinesis', resource: 'stream', resourceName: 'central-logging' }),
    ),
    grants: { openSearchArn: openSearchArn(delivery) },
  });

  const direct = stack('logferry-cwlogs-direct');
  new LogGroupSubscription(direct, 'Subscription', {
    config: config('logferry-cwlogs-direct'),
    code: code('logferry-cwlogs-direct'),
    logGroupNames: settings.childLogGroups,
    grants: { openSearchArn: openSearchArn(direct) },
  });

  const alerts = stack('logferry-cloudtrail-alerts');
  new CloudTrailAlerts(alerts, 'CloudTrailAlerts', {
    config: config('logferry-cloudtrail-alerts'),
    code: code('logferry-cloudtrail-alerts'),
    email: new CfnParameter(alerts, 'AlertEmail', {
      type: 'String',
      description: 'Who gets the alert emails',
    }).valueAsString,
  });

  const elb = stack('logferry-elb-logs');
  new LoadBalancerLogs(elb, 'LoadBalancerLogs', {
    config: config('logferry-elb-logs'),
    code: code('logferry-elb-logs'),
    grants: { openSearchArn: openSearchArn(elb) },
  });
  for (const s of stacks) suppressCdkHelpers(s);
  return stacks;
}
