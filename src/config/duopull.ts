import { ConfigError } from '../core/errors.js';
import { recordFormat } from '../sinks/record-format.js';
import { type Config, configSchema } from './schema.js';

/**
 * The old Go Lambda's settings, so a deployment can switch without new variables:
 * DUOPULL_REGION, DUOPULL_S3_BUCKET (checkpoints), DUOPULL_KINESIS_STREAM (destination),
 * DUOPULL_HOST, DUOPULL_IKEY, DUOPULL_SKEY; DUOPULL_KINESIS_FORMAT=original writes each Duo
 * event's JSON unchanged as the Go function did (default: the normalized event). The secret key may also be given as
 * DUOPULL_SKEY_SECRET (a Secrets Manager id) or DUOPULL_SKEY_SSM (a parameter name).
 * `duoOnly`: only the Duo settings are needed (a run that prints); without a bucket the
 * checkpoints are local files, without a stream the events go to stdout.
 */
export function duopullConfig(
  env: NodeJS.ProcessEnv = process.env,
  opts: { duoOnly?: boolean } = {},
): Config | undefined {
  if (!env.DUOPULL_HOST && !env.DUOPULL_IKEY) return undefined;
  const skey = skeyRef(env);
  requireSettings(env, skey, opts.duoOnly === true);
  const format = env.DUOPULL_KINESIS_FORMAT;
  if (format !== undefined && !recordFormat.safeParse(format).success)
    throw new ConfigError(`DUOPULL_KINESIS_FORMAT is '${format}': write ecs or original`);
  const { s3Aws, kinesisAws } = awsSettings(env);
  const bucket = env.DUOPULL_S3_BUCKET;
  return configSchema.parse({
    state: bucket
      ? { type: 's3', bucket, prefix: env.DUOPULL_S3_PREFIX ?? 'logferry/state/', aws: s3Aws }
      : { type: 'file' },
    // Beside the checkpoints: a Lambda has no disk that outlives it.
    dead_letter: bucket
      ? { type: 's3', bucket, prefix: 'logferry/dead-letter/', aws: s3Aws }
      : { type: 'file' },
    sources: [
      {
        type: 'duo',
        name: 'duo',
        host: env.DUOPULL_HOST,
        ikey: env.DUOPULL_IKEY,
        skey,
        ...(env.DUOPULL_ENDPOINT ? { endpoint: env.DUOPULL_ENDPOINT } : {}),
        // The Go function kept its position in `mintime` in this bucket: start each log there.
        ...(bucket ? { resume_from: { duopull_s3: { bucket, aws: s3Aws } } } : {}),
      },
    ],
    sinks: [
      env.DUOPULL_KINESIS_STREAM
        ? {
            type: 'kinesis',
            name: 'kinesis',
            stream: env.DUOPULL_KINESIS_STREAM,
            ...(format ? { format } : {}),
            aws: kinesisAws,
          }
        : { type: 'stdout', name: 'stdout' },
    ],
    daemon: { status_listen: false },
  });
}

type SecretRef = { aws_secretsmanager: string } | { ssm: string } | { env: string };

/** Where the secret key comes from; the value itself is read only when the source starts. */
function skeyRef(env: NodeJS.ProcessEnv): SecretRef | undefined {
  if (env.DUOPULL_SKEY_SECRET) return { aws_secretsmanager: env.DUOPULL_SKEY_SECRET };
  if (env.DUOPULL_SKEY_SSM) return { ssm: env.DUOPULL_SKEY_SSM };
  if (env.DUOPULL_SKEY) return { env: 'DUOPULL_SKEY' };
  return undefined;
}

function requireSettings(env: NodeJS.ProcessEnv, skey: SecretRef | undefined, duoOnly: boolean): void {
  const needed = duoOnly
    ? ['DUOPULL_HOST', 'DUOPULL_IKEY']
    : ['DUOPULL_HOST', 'DUOPULL_IKEY', 'DUOPULL_S3_BUCKET', 'DUOPULL_KINESIS_STREAM'];
  const missing = needed.filter((k) => !env[k]);
  if (!skey) missing.push('DUOPULL_SKEY');
  if (missing.length)
    throw new ConfigError(
      `the DUOPULL_* settings are incomplete: set ${missing.join(', ')} (or LOGFERRY_CONFIG)`,
    );
}

function awsSettings(env: NodeJS.ProcessEnv): { s3Aws: object; kinesisAws: object } {
  const region = env.DUOPULL_REGION ?? env.AWS_REGION;
  const aws = region ? { region } : {};
  // The SDK's own endpoint variables, read here so emulators get path-style S3 and HTTP/1.1 Kinesis.
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3;
  const kinesisEndpoint = env.AWS_ENDPOINT_URL_KINESIS;
  return {
    s3Aws: s3Endpoint ? { ...aws, endpoint: s3Endpoint, force_path_style: true } : aws,
    kinesisAws: kinesisEndpoint ? { ...aws, endpoint: kinesisEndpoint } : aws,
  };
}
