import { createAlertOutput } from '../alerts/registry.js';
import { AlertRouter } from '../alerts/router.js';
import type { AlertsConfig } from '../alerts/schema.js';
import type { AlertOutput } from '../alerts/types.js';
import type { DeadLetterStore, Sink } from '../core/component.js';
import type { Deps } from '../core/contracts.js';
import { ConfigError } from '../core/errors.js';
import { awsClientConfig } from '../platform/aws.js';
import type { RulesConfig } from './config.js';
import { RuleEngine } from './engine.js';
import { loadRules } from './load.js';
import { MemoryWindowStore, type WindowStore } from './window.js';

/** Builds the rule engine (the pipeline's detector) and its alert outputs from the config. */
export async function buildDetector(
  rules: RulesConfig,
  alerts: AlertsConfig | undefined,
  ctx: { deps: Deps; sinks: Map<string, Sink>; deadLetter: DeadLetterStore },
): Promise<RuleEngine & { router?: AlertRouter }> {
  const { log } = ctx.deps;
  const loaded = await loadRules(rules.paths, { overrides: rules.overrides });
  for (const w of loaded.warnings) log.warn({}, w);
  if (rules.strict_fields && loaded.warnings.length > 0)
    throw new ConfigError(
      `rules: ${loaded.warnings.length} warning(s) and strict_fields is on: ${loaded.warnings[0]}`,
    );
  let store: WindowStore;
  if (rules.window_store.type === 'dynamodb') {
    // Loaded only when used, so bundles with in-memory windows carry no DynamoDB client.
    const [{ DynamoDBClient }, { DynamoWindowStore }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('./dynamodb-store.js'),
    ]);
    store = new DynamoWindowStore(
      new DynamoDBClient(awsClientConfig(rules.window_store)),
      rules.window_store.table,
    );
  } else {
    const mem = new MemoryWindowStore(rules.window_store.persist ? ctx.deps.state : undefined);
    await mem.load();
    store = mem;
  }
  let router: AlertRouter | undefined;
  if (alerts) {
    const outputs = new Map<string, AlertOutput>();
    for (const o of alerts.outputs) outputs.set(o.name, await createAlertOutput(o, ctx.sinks, ctx.deps));
    router = new AlertRouter(outputs, {
      routes: alerts.routes,
      defaultOutputs: alerts.default_outputs,
      maxAttempts: alerts.max_attempts,
      backoff: { baseMs: alerts.backoff, maxMs: alerts.max_backoff },
      deadLetter: ctx.deadLetter,
      log,
      metrics: ctx.deps.metrics,
    });
  } else
    log.warn(
      {},
      `rules: ${loaded.rules.length} rule(s) loaded but no 'alerts' outputs configured; alerts are only logged`,
    );
  const engine = new RuleEngine(loaded.rules, {
    store,
    log,
    metrics: ctx.deps.metrics,
    flushEveryMs: rules.flush_every,
    deliver: router
      ? (a) => router.deliver(a)
      : async (a) => {
          for (const x of a) log.warn({ rule: x.rule.id, alert: x.id }, `alert: ${x.summary}`);
        },
  });
  log.info({ rules: loaded.rules.length }, 'rules loaded');
  const close = engine.close.bind(engine);
  return Object.assign(engine, {
    router,
    close: async () => {
      await close();
      await router?.close();
    },
  });
}
