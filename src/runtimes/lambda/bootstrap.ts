import { readFile } from 'node:fs/promises';
import { type App, buildApp } from '../../app.js';
import { parseConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import type { Detector } from '../../core/component.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../platform/log.js';
import { tuneV8 } from '../../platform/v8-tuning.js';

// At init, before the first invocation allocates anything (see tuneV8).
tuneV8();

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
  functionName?: string;
}

let cached: Promise<App> | undefined;

/**
 * The config comes from `LOGFERRY_CONFIG_YAML` (inline, as the CDK app sets it) or the file at
 * `LOGFERRY_CONFIG` (bundled beside the handler). `fallback` lets a handler accept legacy
 * variables (the Duo Lambda's DUOPULL_*) when neither is set.
 */
export async function loadLambdaConfig(
  env: NodeJS.ProcessEnv = process.env,
  fallback?: () => Config | undefined,
): Promise<Config> {
  if (env.LOGFERRY_CONFIG_YAML) return parseConfig(env.LOGFERRY_CONFIG_YAML, 'LOGFERRY_CONFIG_YAML', env);
  if (env.LOGFERRY_CONFIG)
    return parseConfig(await readFile(env.LOGFERRY_CONFIG, 'utf8'), env.LOGFERRY_CONFIG, env);
  const cfg = fallback?.();
  if (cfg) return cfg;
  throw new ConfigError('set LOGFERRY_CONFIG_YAML or LOGFERRY_CONFIG to the logferry config');
}

/** Built once per container and reused across invocations (clients keep their connections). */
export function lambdaApp(
  opts: {
    fallback?: () => Config | undefined;
    detector?: (cfg: Config) => Promise<Detector | undefined>;
  } = {},
): Promise<App> {
  cached ??= (async () => {
    const config = await loadLambdaConfig(process.env, opts.fallback);
    const log = createLogger(process.env.LOGFERRY_LOG_LEVEL ?? config.daemon.log_level);
    return buildApp(config, { log, detector: await opts.detector?.(config) });
  })().catch((e) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

/** For tests: forget the cached app so the next invocation reads the environment again. */
export async function resetLambdaApp(): Promise<void> {
  const app = await cached?.catch(() => undefined);
  cached = undefined;
  await app?.close();
}

/** The source a handler feeds: `LOGFERRY_SOURCE`, else the first source of the wanted type. */
export function pickSource(config: Config, types: string[], env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOGFERRY_SOURCE) {
    if (!config.sources.some((s) => s.name === env.LOGFERRY_SOURCE)) {
      throw new ConfigError(`LOGFERRY_SOURCE names '${env.LOGFERRY_SOURCE}', which is not in the config`);
    }
    return env.LOGFERRY_SOURCE;
  }
  const s = config.sources.find((src) => types.includes(src.type));
  if (!s) throw new ConfigError(`the config has no source of type ${types.join(' or ')} for this handler`);
  return s.name;
}
