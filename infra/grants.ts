/**
 * The IAM statements a function needs for what its config names, and nothing else: each action
 * on the ARNs of the buckets (and prefixes), tables, streams, topics and secrets in the config.
 */
import { Arn, ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { Config } from '../src/config/schema.js';
import { secretRefs } from './bundle.js';

export interface GrantOptions {
  /** Amazon OpenSearch Service domain (or Serverless collection) ARN for SigV4 sinks. */
  openSearchArn?: string;
  /** A customer managed KMS key the secrets, buckets or streams are encrypted with. */
  kmsKeyArn?: string;
  /** false for the Firehose transformation: its events go back to Firehose, not to the sinks. */
  sinks?: boolean;
}

const s3Objects = (bucket: string, prefix: string) => `arn:${Aws.PARTITION}:s3:::${bucket}/${prefix}*`;

function arn(
  scope: Construct,
  service: string,
  resource: string,
  resourceName?: string,
  sep = ArnFormat.SLASH_RESOURCE_NAME,
) {
  return Stack.of(scope).formatArn({ service, resource, resourceName, arnFormat: sep });
}

/** A Secrets Manager reference is a name or an ARN; the name's ARN ends in a random 6-character suffix. */
function secretArn(scope: Construct, ref: string): string {
  return ref.startsWith('arn:')
    ? ref
    : arn(scope, 'secretsmanager', 'secret', `${ref}-??????`, ArnFormat.COLON_RESOURCE_NAME);
}

function statement(actions: string[], resources: string[]): PolicyStatement {
  return new PolicyStatement({ effect: Effect.ALLOW, actions: actions.sort(), resources });
}

export function configStatements(
  scope: Construct,
  config: Config,
  opts: GrantOptions = {},
): PolicyStatement[] {
  const out: PolicyStatement[] = [];
  const st = config.state;
  if (st.type === 's3')
    out.push(
      statement(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [s3Objects(st.bucket, st.prefix)]),
    );
  if (st.type === 'dynamodb')
    out.push(
      statement(
        ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        [arn(scope, 'dynamodb', 'table', st.table)],
      ),
    );
  const dl = config.dead_letter;
  // Writing is all a function does with dead letters; `logferry replay` reads them with its own role.
  if (dl.type === 's3') out.push(statement(['s3:PutObject'], [s3Objects(dl.bucket, dl.prefix)]));
  for (const sink of opts.sinks === false ? [] : config.sinks) {
    if (sink.type === 'kinesis')
      out.push(statement(['kinesis:PutRecords'], [arn(scope, 'kinesis', 'stream', sink.stream)]));
    if (sink.type === 'firehose')
      out.push(
        statement(
          ['firehose:PutRecordBatch'],
          [arn(scope, 'firehose', 'deliverystream', sink.delivery_stream)],
        ),
      );
    if (sink.type === 's3_archive')
      out.push(statement(['s3:PutObject', 's3:AbortMultipartUpload'], [s3Objects(sink.bucket, sink.prefix)]));
    if (sink.type === 'opensearch' && sink.auth && 'aws' in sink.auth) {
      if (!opts.openSearchArn)
        throw new Error(`sink '${sink.name}' signs with SigV4: give the domain ARN (openSearchArn)`);
      const service = sink.auth.aws.service === 'aoss' ? 'aoss:APIAccessAll' : undefined;
      out.push(
        statement(service ? [service] : ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'], [
          service ? opts.openSearchArn : `${opts.openSearchArn}/*`,
        ]),
      );
    }
  }
  for (const o of config.alerts?.outputs ?? [])
    if (o.type === 'sns') out.push(statement(['sns:Publish'], [o.topic_arn]));
  const ws = config.rules?.window_store;
  if (ws?.type === 'dynamodb')
    out.push(
      statement(['dynamodb:Query', 'dynamodb:UpdateItem'], [arn(scope, 'dynamodb', 'table', ws.table)]),
    );
  const secrets = secretRefs(config);
  if (secrets.secretsManager.length)
    out.push(
      statement(
        ['secretsmanager:GetSecretValue'],
        [...new Set(secrets.secretsManager)].map((s) => secretArn(scope, s)),
      ),
    );
  if (secrets.ssm.length)
    out.push(
      statement(
        ['ssm:GetParameter'],
        [...new Set(secrets.ssm)].map((p) =>
          p.startsWith('arn:') ? p : arn(scope, 'ssm', 'parameter', p.replace(/^\//, '')),
        ),
      ),
    );
  if (opts.kmsKeyArn) out.push(statement(['kms:Decrypt', 'kms:GenerateDataKey'], [opts.kmsKeyArn]));
  return out;
}

/** For tests and docs: the ARN's service, for statements that name a parsed ARN. */
export const arnService = (a: string) => Arn.split(a, ArnFormat.SLASH_RESOURCE_NAME).service;
