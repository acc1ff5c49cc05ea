import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { LogferryConfig } from './config.js';
import { LogferryFunction } from './function.js';

const TEXT = `# Set \${NOT_A_VARIABLE} in a comment: ignored.
state:
  type: s3
  bucket: \${STATE_BUCKET}
  prefix: \${STATE_PREFIX:-logferry/state/}
dead_letter:
  type: file
  path: /var/lib/logferry/dead-letter
sources:
  - name: k
    type: kinesis
    stream: \${STREAM}
    aws:
      region: \${AWS_REGION}
      endpoint: \${KINESIS_ENDPOINT}
sinks:
  - { name: out, type: stdout }
alerts:
  outputs:
    - name: email
      type: sns
      topic_arn: \${TOPIC_ARN}
`;

describe('logferry config in the CDK app', () => {
  it('finds the variables (with defaults), not those in comments', () => {
    const c = LogferryConfig.fromText(TEXT, 't.yaml');
    expect(c.variables).toEqual([
      { name: 'STATE_BUCKET' },
      { name: 'STATE_PREFIX', default: 'logferry/state/' },
      { name: 'STREAM' },
      { name: 'AWS_REGION' },
      { name: 'KINESIS_ENDPOINT' },
      { name: 'TOPIC_ARN' },
    ]);
    expect(c.variableAt(['state', 'bucket'])).toBe('STATE_BUCKET');
    expect(c.variableAt(['dead_letter', 'path'])).toBeUndefined();
  });

  it('hands the function the YAML without comments, variables intact', () => {
    const yaml = LogferryConfig.fromText(TEXT, 't.yaml').compact();
    expect(yaml).not.toContain('#');
    expect(yaml).toContain('bucket: ${STATE_BUCKET}');
  });

  it('puts bindings where the variables were, even in URL and ARN fields, and names what is unbound', () => {
    const c = LogferryConfig.fromText(TEXT, 't.yaml');
    const bound = c.resolve({
      STATE_BUCKET: 'b1',
      STREAM: 's1',
      KINESIS_ENDPOINT: 'https://kinesis.example',
      TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
    });
    expect(bound.state).toMatchObject({ type: 's3', bucket: 'b1', prefix: 'logferry/state/' });
    expect(bound.sources[0]).toMatchObject({ stream: 's1', aws: { endpoint: 'https://kinesis.example' } });
    expect(bound.alerts?.outputs[0]).toMatchObject({
      topic_arn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
    });
    expect(() => c.resolve({ STATE_BUCKET: 'b1' })).toThrow(
      /nothing is bound to \$\{STREAM\}, \$\{KINESIS_ENDPOINT\}/,
    );
  });

  it('makes unbound variables stack parameters and warns about paths a function cannot write', () => {
    const stack = new Stack(new App(), 'S');
    const f = new LogferryFunction(stack, 'F', {
      config: LogferryConfig.fromText(TEXT, 't.yaml'),
      handler: 'kinesis',
      code: Code.fromInline('export const handler = 0;'),
      bindings: { STATE_BUCKET: 'b1' },
    });
    expect(Object.keys(f.parameters).sort()).toEqual([
      'KINESIS_ENDPOINT',
      'STATE_PREFIX',
      'STREAM',
      'TOPIC_ARN',
    ]);
    Annotations.fromStack(stack).hasWarning(
      '/S/F',
      Match.stringLikeRegexp(
        'dead_letter /var/lib/logferry/dead-letter: a Lambda function can write only below /tmp',
      ),
    );
  });
});
