/**
 * One logferry handler as a Lambda function: Node 24, the config in LOGFERRY_CONFIG_YAML, every
 * `${VAR}` of the config in the environment (bound to a resource of the stack, or else a stack
 * parameter), and a role with exactly the statements the config needs.
 */
import { Annotations, Aws, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc } from 'aws-cdk-lib/aws-ec2';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Config } from '../src/config/schema.js';
import { ConfigError } from '../src/core/errors.js';
import { type LogferryConfig, RESERVED } from './config.js';
import { configStatements, type GrantOptions } from './grants.js';
import { reviewedWildcards } from './nag.js';

export type HandlerName = 'duo' | 'kinesis' | 'firehose' | 'cwlogs' | 's3' | 'sqs';

export interface LogferryFunctionProps {
  config: LogferryConfig;
  handler: HandlerName;
  /** The handler's bundle (infra/bundle.ts): `Code.fromAsset(<bundle folder>)`. */
  code: Code;
  /** Values for the config's `${VAR}`s; the others become stack parameters. */
  bindings?: Record<string, string>;
  grants?: GrantOptions;
  timeout?: Duration;
  memorySize?: number;
  /** 1 for pulls that must not overlap (their checkpoints assume one writer). */
  reservedConcurrency?: number;
  vpc?: IVpc;
  securityGroups?: ISecurityGroup[];
}

/** Lambda's limit for all variables together. */
const ENV_LIMIT = 4096;

export class LogferryFunction extends Construct {
  readonly fn: LambdaFunction;
  readonly role: Role;
  /** The config with every variable replaced by its binding (tokens resolve at deploy). */
  readonly resolved: Config;
  /** The stack parameters made for unbound variables, by variable name. */
  readonly parameters: Record<string, CfnParameter> = {};
  private vpcWildcard = false;

  constructor(scope: Construct, id: string, props: LogferryFunctionProps) {
    super(scope, id);
    const bindings: Record<string, string> = { AWS_ACCOUNT_ID: Aws.ACCOUNT_ID, ...props.bindings };
    for (const v of props.config.variables) {
      if (RESERVED.test(v.name) || bindings[v.name] !== undefined) continue;
      // A Lambda has only /tmp to write: folders for files and state go there.
      if (v.name.endsWith('_DIR')) {
        bindings[v.name] = `/tmp/logferry/${v.name.toLowerCase().replace(/_dir$/, '')}`;
        continue;
      }
      this.parameters[v.name] = this.parameterFor(v.name, v.default);
      bindings[v.name] = this.parameters[v.name]!.valueAsString;
    }
    this.resolved = props.config.resolve(bindings);

    for (const path of outsideTmp(this.resolved))
      Annotations.of(this).addWarningV2(
        'logferry:read-only-path',
        `${props.config.name}: ${path}: a Lambda function can write only below /tmp; use S3 or DynamoDB, or remove it`,
      );

    const environment: Record<string, string> = { LOGFERRY_CONFIG_YAML: props.config.compact() };
    for (const v of props.config.variables)
      if (!RESERVED.test(v.name) && bindings[v.name] !== undefined) environment[v.name] = bindings[v.name]!;
    const literalSize = Object.entries(environment)
      .filter(([, val]) => !val.includes('${Token['))
      .reduce((n, [k, val]) => n + k.length + val.length, 0);
    if (literalSize > ENV_LIMIT - 512)
      throw new ConfigError(
        `${props.config.name}: the config and its variables take ${literalSize} bytes, over Lambda's ${ENV_LIMIT}-byte environment`,
      );

    const logGroup = new LogGroup(this, 'Logs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `logferry ${props.handler} handler (${props.config.name})`,
    });
    // The function's own log group only, instead of AWSLambdaBasicExecutionRole's logs:* on every group.
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${logGroup.logGroupArn}:*`],
      }),
    );
    const grants = { ...props.grants, sinks: props.handler !== 'firehose' };
    for (const s of configStatements(this, this.resolved, grants)) this.role.addToPolicy(s);
    if (props.vpc) this.allowVpcAccess();

    this.fn = new LambdaFunction(this, 'Function', {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      handler: 'index.handler',
      code: props.code,
      role: this.role,
      logGroup,
      environment,
      timeout: props.timeout ?? Duration.minutes(5),
      memorySize: props.memorySize ?? 256,
      reservedConcurrentExecutions: props.reservedConcurrency,
      vpc: props.vpc,
      securityGroups: props.securityGroups,
    });
    this.suppressConfigWildcards();
  }

  private parameterFor(name: string, dflt: string | undefined): CfnParameter {
    const stack = Stack.of(this);
    const existing = stack.node.tryFindChild(name);
    if (existing instanceof CfnParameter) return existing;
    return new CfnParameter(stack, name, {
      type: 'String',
      description: `\${${name}} in the logferry config`,
      ...(dflt === undefined ? { minLength: 1 } : { default: dflt }),
    });
  }

  /** What AWSLambdaVPCAccessExecutionRole grants; network interfaces have no ARN before they exist. */
  private allowVpcAccess(): void {
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    this.vpcWildcard = true;
  }

  /** Prefix wildcards (bucket/prefix*, log streams, secret suffixes) are as narrow as the services allow. */
  private suppressConfigWildcards(): void {
    reviewedWildcards(
      this.role,
      'Wildcards only end ARNs: objects below the configured S3 prefix, streams of the function log group, the random suffix of a named secret, paths of the OpenSearch domain' +
        (this.vpcWildcard ? '; EC2 network-interface actions for a VPC function take no resource ARN' : ''),
    );
  }
}

/** File paths (state, dead letters, file sinks) a function could not write: all but /tmp is read-only. */
function outsideTmp(config: Config): string[] {
  const paths: string[] = [];
  const check = (what: string, p: string) => {
    if (!p.startsWith('/tmp/') && !p.includes('${Token[')) paths.push(`${what} ${p}`);
  };
  if (config.state.type === 'file') check('state', config.state.path);
  if (config.dead_letter.type === 'file') check('dead_letter', config.dead_letter.path);
  for (const s of config.sinks) if (s.type === 'daily_files') check(`sink '${s.name}'`, s.path);
  return paths;
}
