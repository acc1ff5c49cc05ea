import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleEvents, runExample } from './examples.js';
import { parseRule, RuleLoadError } from './load.js';
import type { Rule, RuleExample } from './types.js';

// SigmaHQ rules as published (rules/cloud/aws/cloudtrail/…), fed to the same engine.
const DISABLE_LOGGING = `title: AWS CloudTrail Important Change
id: 4db60cc0-36fb-42b7-9b58-a5b53019fb74
status: test
description: Detects disabling, deleting and updating of a Trail
references:
    - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/best-practices-security.html
author: vitaliy0x1
date: 2020-01-21
modified: 2022-10-09
tags:
    - attack.defense-evasion
    - attack.t1562.001
logsource:
    product: aws
    service: cloudtrail
detection:
    selection_source:
        eventSource: cloudtrail.amazonaws.com
        eventName:
            - StopLogging
            - UpdateTrail
            - DeleteTrail
    condition: selection_source
falsepositives:
    - Valid change in a Trail
level: medium
`;

const ROOT = `title: AWS Root Credentials
id: 8ad1600d-e9dc-4251-b0ee-a65268f29add
status: test
description: Detects AWS root account usage
author: vitaliy0x1
date: 2020-01-21
tags:
    - attack.privilege-escalation
    - attack.t1078.004
logsource:
    product: aws
    service: cloudtrail
detection:
    selection_usertype:
        userIdentity.type: Root
    selection_eventtype:
        eventType: AwsServiceEvent
    condition: selection_usertype and not selection_eventtype
level: medium
`;

const MODIFIERS = `title: IAM changes by a suspicious agent
id: 11111111-2222-4333-8444-555555555555
status: experimental
logsource:
    product: aws
    service: cloudtrail
detection:
    selection_iam:
        eventSource|endswith: iam.amazonaws.com
        eventName|startswith: 'Create'
    selection_s3:
        eventSource: s3.amazonaws.com
        eventName|re: '^Put(Bucket)?Policy$'
    filter_agent:
        userAgent|contains:
            - 'console.amazonaws.com'
            - 'AWS Internal'
    filter_error:
        errorCode: null
    condition: (1 of selection_*) and not filter_agent and filter_error
level: high
`;

function record(over: Record<string, unknown>): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', userName: 'Alice' },
    eventTime: '2026-01-05T10:00:00Z',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.25',
    userAgent: 'aws-cli/2.13.5',
    eventID: `id-${JSON.stringify(over).length}`,
    eventType: 'AwsApiCall',
    recipientAccountId: '123456789012',
    ...over,
  };
}

const ex = (input: Record<string, unknown>): RuleExample => ({
  input,
  parser: 'cloudtrail',
  repeat: 1,
  step: 1000,
  line: 1,
});
const fires = async (r: Rule, over: Record<string, unknown>) =>
  (await runExample(r, ex(record(over)), 'test')).length > 0;

function sigmaError(text: string): string {
  try {
    parseRule(text, 'sigma.yml');
  } catch (e) {
    expect(e).toBeInstanceOf(RuleLoadError);
    return (e as RuleLoadError).problems[0]!;
  }
  throw new Error('expected a load error');
}

describe('Sigma import (aws/cloudtrail)', () => {
  it('imports a SigmaHQ rule with its metadata', () => {
    const { rule, warnings } = parseRule(DISABLE_LOGGING, 'aws_cloudtrail_disable_logging.yml');
    expect(warnings).toEqual([]);
    expect(rule).toMatchObject({
      id: 'sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74',
      title: 'AWS CloudTrail Important Change',
      severity: 'medium',
      tags: ['attack.defense-evasion', 'attack.t1562.001'],
      datasets: ['aws.cloudtrail'],
      format: 'sigma',
    });
  });

  it('matches CloudTrail records parsed by the cloudtrail parser, case-insensitively like Sigma', async () => {
    const { rule } = parseRule(DISABLE_LOGGING, 'x.yml');
    expect(await fires(rule, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' })).toBe(
      true,
    );
    expect(await fires(rule, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'stoplogging' })).toBe(
      true,
    );
    expect(await fires(rule, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StartLogging' })).toBe(
      false,
    );
    const events = await exampleEvents(rule, ex(record({ eventSource: 'x', eventName: 'StopLogging' })), 't');
    expect(events[0]!.dataset).toBe('aws.cloudtrail');
  });

  it('and / not between selections', async () => {
    const { rule } = parseRule(ROOT, 'x.yml');
    const root = { userIdentity: { type: 'Root', arn: 'arn:aws:iam::123456789012:root' } };
    expect(await fires(rule, { ...root, eventSource: 's3.amazonaws.com', eventName: 'ListBuckets' })).toBe(
      true,
    );
    expect(
      await fires(rule, {
        ...root,
        eventSource: 's3.amazonaws.com',
        eventName: 'X',
        eventType: 'AwsServiceEvent',
      }),
    ).toBe(false);
    expect(await fires(rule, { eventSource: 's3.amazonaws.com', eventName: 'ListBuckets' })).toBe(false);
  });

  it('1 of selection_*, parentheses, contains / startswith / endswith / re, null', async () => {
    const { rule } = parseRule(MODIFIERS, 'x.yml');
    expect(await fires(rule, { eventSource: 'iam.amazonaws.com', eventName: 'CreateUser' })).toBe(true);
    expect(await fires(rule, { eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy' })).toBe(true);
    expect(await fires(rule, { eventSource: 's3.amazonaws.com', eventName: 'PutBucketAcl' })).toBe(false);
    expect(
      await fires(rule, {
        eventSource: 'iam.amazonaws.com',
        eventName: 'CreateUser',
        userAgent: 'AWS Internal',
      }),
    ).toBe(false);
    expect(
      await fires(rule, {
        eventSource: 'iam.amazonaws.com',
        eventName: 'CreateUser',
        errorCode: 'AccessDenied',
      }),
    ).toBe(false);
  });

  it('|all: every value must match', async () => {
    const { rule } = parseRule(
      `title: All of them
logsource: { product: aws, service: cloudtrail }
detection:
  sel:
    userAgent|contains|all: [aws-cli, Python]
  condition: sel
level: low
`,
      'all.yml',
    );
    expect(rule.id).toBe('sigma.all-of-them');
    expect(
      await fires(rule, { eventSource: 's', eventName: 'n', userAgent: 'aws-cli/2.13.5 Python/3.11.4' }),
    ).toBe(true);
    expect(await fires(rule, { eventSource: 's', eventName: 'n', userAgent: 'aws-cli/2.13.5' })).toBe(false);
  });

  it.each([
    [
      'a modifier',
      MODIFIERS.replace('eventName|startswith', 'eventName|base64offset|contains'),
      "sigma.yml:10: unsupported Sigma modifier 'base64offset'",
    ],
    [
      'placeholders',
      MODIFIERS.replace("eventName|startswith: 'Create'", "src_ip|expand: '%Legitimate_IP_Ranges%'"),
      "sigma.yml:10: unsupported Sigma modifier 'expand': its %placeholders% stand for a site's own values; write them into the rule",
    ],
    [
      'an aggregation',
      ROOT.replace(
        'condition: selection_usertype and not selection_eventtype',
        'condition: selection_usertype | count() by sourceIPAddress > 5',
      ),
      "sigma.yml:18: unsupported Sigma construct: aggregation ('| count() by sourceIPAddress > 5'); write an 'aggregate' in a logferry rule instead",
    ],
    [
      'a keyword search',
      ROOT.replace(
        '    selection_eventtype:\n        eventType: AwsServiceEvent',
        '    selection_eventtype:\n        - AwsServiceEvent',
      ),
      'sigma.yml:16: unsupported Sigma construct: keyword search (a list of plain values)',
    ],
    [
      'a timeframe',
      ROOT.replace('    condition:', '    timeframe: 5m\n    condition:'),
      "sigma.yml:18: unsupported Sigma construct 'timeframe'",
    ],
    [
      'another log source',
      ROOT.replace('service: cloudtrail', 'service: guardduty'),
      'sigma.yml:10: unsupported Sigma logsource {"product":"aws","service":"guardduty"}: only product aws / service cloudtrail is supported',
    ],
    [
      'an unknown selection',
      ROOT.replace('not selection_eventtype', 'not selection_missing'),
      "sigma.yml:18: condition names 'selection_missing', which is not a selection in detection",
    ],
  ])('reports %s by name with its line', (_what, text, message) => {
    expect(sigmaError(text)).toBe(message);
  });
});

const sigmahq = (name: string) =>
  parseRule(readFileSync(join(import.meta.dirname, 'fixtures', 'sigmahq', name), 'utf8'), name);

const sigmaRule = (detection: string) =>
  parseRule(
    `title: T\nlogsource: { product: aws, service: cloudtrail }\ndetection:\n${detection}\nlevel: low\n`,
    't.yml',
  ).rule;

describe('Sigma fidelity (as the reference tooling compares)', () => {
  it("'true' in a SigmaHQ rule matches CloudTrail's JSON true", async () => {
    const { rule, warnings } = sigmahq('aws_rds_public_db_restore.yml');
    expect(warnings).toEqual([]);
    const restore = (publiclyAccessible: unknown) => ({
      eventSource: 'rds.amazonaws.com',
      eventName: 'RestoreDBInstanceFromDBSnapshot',
      responseElements: { dBInstanceIdentifier: 'restored', publiclyAccessible },
    });
    expect(await fires(rule, restore(true))).toBe(true);
    expect(await fires(rule, restore(false))).toBe(false);
    expect(await fires(rule, restore('true'))).toBe(true);
  });

  it("'false' and 1 of over a request's booleans", async () => {
    const { rule } = sigmahq('aws_cloudtrail_bucket_block_public_access_weakened.yml');
    const put = (over: Record<string, boolean>) => ({
      eventSource: 's3.amazonaws.com',
      eventName: 'PutBucketPublicAccessBlock',
      requestParameters: {
        bucketName: 'logs',
        PublicAccessBlockConfiguration: {
          xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/',
          RestrictPublicBuckets: true,
          BlockPublicPolicy: true,
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          ...over,
        },
      },
    });
    expect(await fires(rule, put({}))).toBe(false);
    expect(await fires(rule, put({ BlockPublicPolicy: false }))).toBe(true);
  });

  it('the exists modifier', async () => {
    const { rule } = sigmahq('aws_bedrock_logging_config_deleted.yml');
    const del = {
      eventSource: 'bedrock.amazonaws.com',
      eventName: 'DeleteModelInvocationLoggingConfiguration',
    };
    expect(await fires(rule, del)).toBe(true);
    expect(await fires(rule, { ...del, errorCode: 'AccessDenied' })).toBe(false);
  });

  it('wildcards inside contains, startswith and endswith values', async () => {
    const rule = sigmaRule(
      "  sel:\n    userAgent|contains: 'aws-cli/*Python'\n    eventName|startswith: 'Get?ecret'\n    eventSource|endswith: '*manager.amazonaws.com'\n  condition: sel",
    );
    const base = { eventSource: 'secretsmanager.amazonaws.com', eventName: 'GetSecretValue' };
    expect(await fires(rule, { ...base, userAgent: 'x aws-cli/2.13.5 Python/3.11 y' })).toBe(true);
    expect(await fires(rule, { ...base, userAgent: 'Python aws-cli/2.13.5' })).toBe(false);
    expect(await fires(rule, { ...base, eventName: 'GetXSecret', userAgent: 'aws-cli/2 Python' })).toBe(
      false,
    );
    expect(
      await fires(rule, { ...base, eventSource: 'secrets.amazonaws.com', userAgent: 'aws-cli/ Python' }),
    ).toBe(false);
  });

  it('fieldref compares two fields of the event', async () => {
    const rule = sigmaRule(
      '  sel:\n    eventName: CreateAccessKey\n  self:\n    userIdentity.userName|fieldref: requestParameters.userName\n  condition: sel and not self',
    );
    const key = (target: string) => ({
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      requestParameters: { userName: target },
    });
    // The record() helper's caller is Alice.
    expect(await fires(rule, key('Alice'))).toBe(false);
    expect(await fires(rule, key('mallory'))).toBe(true);
  });

  it('contains on a mapping reads its text, as backends that store it flattened do', async () => {
    const rule = sigmaRule(
      "  sel:\n    eventName: PutBucketVersioning\n    requestParameters|contains: 'Suspended'\n  condition: sel",
    );
    const put = (Status: string) => ({
      eventSource: 's3.amazonaws.com',
      eventName: 'PutBucketVersioning',
      requestParameters: { bucketName: 'logs', VersioningConfiguration: { Status } },
    });
    expect(await fires(rule, put('Suspended'))).toBe(true);
    expect(await fires(rule, put('Enabled'))).toBe(false);
  });

  it('re with the i flag, and cased', async () => {
    const re = sigmaRule("  sel:\n    eventName|re|i: '^stop(logging)?$'\n  condition: sel");
    expect(await fires(re, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' })).toBe(true);
    const plainRe = sigmaRule("  sel:\n    eventName|re: '^stop(logging)?$'\n  condition: sel");
    expect(await fires(plainRe, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' })).toBe(
      false,
    );
    const cased = sigmaRule('  sel:\n    eventName|cased: StopLogging\n  condition: sel');
    expect(await fires(cased, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging' })).toBe(
      true,
    );
    expect(await fires(cased, { eventSource: 'cloudtrail.amazonaws.com', eventName: 'stoplogging' })).toBe(
      false,
    );
  });
});
