import type { Config } from '../../config/schema.js';
import { configSchema } from '../../config/schema.js';
import { Deadline } from '../../core/deadline.js';
import { ConfigError, SourceError } from '../../core/errors.js';
import { runBatch } from '../../core/pipeline.js';
import type { DuoSource, PollResult } from '../../sources/duo/index.js';
import { type LambdaContext, lambdaApp, pickSource } from './bootstrap.js';

/**
 * The old Go Lambda's settings, so a deployment can switch without new variables:
 * DUOPULL_REGION, DUOPULL_S3_BUCKET (checkpoints), DUOPULL_KINESIS_STREAM (destination),
 * DUOPULL_HOST, DUOPULL_IKEY, DUOPULL_SKEY. The secret key may also be given as
 * DUOPULL_SKEY_SECRET (a Secrets Manager id) or DUOPULL_SKEY_SSM (a parameter name).
 */
export function duopullConfig(env: NodeJS.ProcessEnv = process.env): Config | undefined {
  if (!env.DUOPULL_HOST && !env.DUOPULL_IKEY) return undefined;
  const missing = ['DUOPULL_HOST', 'DUOPULL_IKEY', 'DUOPULL_S3_BUCKET', 'DUOPULL_KINESIS_STREAM'].filter(
    (k) => !env[k],
  );
  const skey = env.DUOPULL_SKEY_SECRET
    ? { aws_secretsmanager: env.DUOPULL_SKEY_SECRET }
    : env.DUOPULL_SKEY_SSM
      ? { ssm: env.DUOPULL_SKEY_SSM }
      : env.DUOPULL_SKEY
        ? { env: 'DUOPULL_SKEY' }
        : undefined;
  if (!skey) missing.push('DUOPULL_SKEY');
  if (missing.length)
    throw new ConfigError(
      `the DUOPULL_* settings are incomplete: set ${missing.join(', ')} (or LOGFERRY_CONFIG)`,
    );
  const region = env.DUOPULL_REGION ?? env.AWS_REGION;
  const aws = region ? { region } : {};
  // The SDK's own endpoint variables, read here so emulators get path-style S3 and HTTP/1.1 Kinesis.
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3;
  const kinesisEndpoint = env.AWS_ENDPOINT_URL_KINESIS;
  return configSchema.parse({
    state: {
      type: 's3',
      bucket: env.DUOPULL_S3_BUCKET,
      prefix: env.DUOPULL_S3_PREFIX ?? 'logferry/state/',
      aws: s3Endpoint ? { ...aws, endpoint: s3Endpoint, force_path_style: true } : aws,
    },
    // Beside the checkpoints: a Lambda has no disk that outlives it.
    dead_letter: {
      type: 's3',
      bucket: env.DUOPULL_S3_BUCKET,
      prefix: 'logferry/dead-letter/',
      aws: s3Endpoint ? { ...aws, endpoint: s3Endpoint, force_path_style: true } : aws,
    },
    sources: [
      {
        type: 'duo',
        name: 'duo',
        host: env.DUOPULL_HOST,
        ikey: env.DUOPULL_IKEY,
        skey,
        ...(env.DUOPULL_ENDPOINT ? { endpoint: env.DUOPULL_ENDPOINT } : {}),
        // The Go function kept its position in `mintime` in this bucket: start each log there.
        resume_from: {
          duopull_s3: {
            bucket: env.DUOPULL_S3_BUCKET,
            aws: s3Endpoint ? { ...aws, endpoint: s3Endpoint, force_path_style: true } : aws,
          },
        },
      },
    ],
    sinks: [
      {
        type: 'kinesis',
        name: 'kinesis',
        stream: env.DUOPULL_KINESIS_STREAM,
        aws: kinesisEndpoint ? { ...aws, endpoint: kinesisEndpoint } : aws,
      },
    ],
    daemon: { status_listen: false },
  });
}

export interface DuoPullSummary {
  logs: PollResult[];
  errors: string[];
  cut_short: boolean;
}

/**
 * Scheduled (EventBridge) handler: pulls the three Duo logs until each is caught up or the
 * deadline guard says stop, checkpointing after every delivered page. The next schedule goes
 * on from the checkpoints. Throws when a log could not be read (so the invocation shows as an
 * error and alarms fire) after the other logs had their turn.
 */
// One source per container: building it resolves the secret key (a Secrets Manager or SSM call)
// and opens the keep-alive connection to Duo; warm invocations reuse both.
let cachedSource: Promise<DuoSource> | undefined;

async function duoSource(): Promise<{ app: Awaited<ReturnType<typeof lambdaApp>>; source: DuoSource }> {
  const app = await lambdaApp({ fallback: () => duopullConfig() });
  cachedSource ??= (async () => {
    const name = pickSource(app.config, ['duo']);
    const [source] = (await app.createSources((s) => s.name === name)) as DuoSource[];
    return source!;
  })().catch((e) => {
    cachedSource = undefined;
    throw e;
  });
  return { app, source: await cachedSource };
}

/** For tests: forget the cached source (and its client). */
export function resetDuoSource(): void {
  void cachedSource?.then((s) => s.client.close()).catch(() => undefined);
  cachedSource = undefined;
}

export async function handler(_event: unknown, context: LambdaContext): Promise<DuoPullSummary> {
  const { app, source } = await duoSource();
  const deadline = Deadline.fromLambda(context);
  const { results, errors } = await source.pollAll({
    state: app.state,
    log: app.deps.log,
    deadline,
    process: (batch) => runBatch(batch, app.pipeline, deadline),
  });
  const summary: DuoPullSummary = {
    logs: results,
    errors: errors.map((e) => e.message),
    cut_short: deadline.expired(),
  };
  app.deps.log.info(summary, 'duo pull done');
  const failed = results.filter((r) => r.failed);
  if (errors.length || failed.length)
    throw new SourceError(
      `duo pull: ${[...summary.errors, ...failed.map((r) => `${r.log}: ${r.failed}`)].join('; ')}`,
      { retryable: true },
    );
  return summary;
}
