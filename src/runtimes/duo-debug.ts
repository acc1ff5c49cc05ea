/**
 * The Duo collector's trial modes, shared by `logferry pull duo` and the Duo Lambda: printing
 * instead of delivering (the Go function's DEBUGDUO) and reading a built-in fake Duo with
 * generated events (`--demo`, the Go function's DEBUGAWS).
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { GeneratedEventStore } from '../demo/duo-events.js';
import { FakeDuo } from '../demo/duo-fake.js';
import type { DuoSource, PollContext, PollResult } from '../sources/duo/index.js';
import type { DuoSourceConfig } from '../sources/duo/schema.js';

/** Set on every event read from the fake Duo, so a consumer can drop them (`labels.logferry_demo`). */
export const DEMO_LABEL = 'labels.logferry_demo';

/** A fake Duo holding a few hours of generated, realistic events. */
export async function startDemoDuo(now = Date.now()): Promise<{ fake: FakeDuo; endpoint: string }> {
  const fake = new FakeDuo();
  const start = now - 3 * 3_600_000;
  fake.stores.authentication = new GeneratedEventStore('authentication', 1200, start, 8000);
  fake.stores.administrator = new GeneratedEventStore('administrator', 60, start, 170_000);
  fake.stores.telephony = new GeneratedEventStore('telephony', 150, start, 70_000);
  return { fake, endpoint: await fake.listen() };
}

/** The duo source the run is about: `name`, else the first of type duo. */
export function duoSourceOf(config: Config, name?: string, where = 'the config'): DuoSourceConfig {
  const found = config.sources.find((s) => s.type === 'duo' && (name === undefined || s.name === name));
  if (!found)
    throw new ConfigError(
      name ? `${where}: no duo source named '${name}'` : `${where}: no source of type duo`,
    );
  return found as DuoSourceConfig;
}

/**
 * Narrows `config` to the one duo source and points it at the fake Duo; its events are marked
 * with DEMO_LABEL. Rules and alerts are dropped: generated logins must not page anyone.
 */
export function useDemoDuo(config: Config, source: DuoSourceConfig, fake: FakeDuo, endpoint: string): void {
  Object.assign(source, { endpoint, host: fake.host, ikey: fake.ikey, skey: fake.skey });
  config.sources = [source];
  config.transforms = [{ type: 'add_fields', fields: { [DEMO_LABEL]: true } }, ...config.transforms];
  dropAlerting(config);
}

/**
 * Keeps a trial run away from what the real collector owns: checkpoints and dead letters go
 * under `dir`, no rules or alerts run. What is left of the config is its duo source and sinks.
 */
export function isolate(config: Config, dir: string): void {
  config.state = { type: 'file', path: join(dir, 'state'), mode: 0o600 };
  config.dead_letter = { type: 'file', path: join(dir, 'dead-letter'), mode: 0o600 };
  dropAlerting(config);
}

function dropAlerting(config: Config): void {
  delete config.rules;
  delete config.alerts;
}

export type DuoDebugMode = 'print' | 'fake-duo';

/**
 * The Go function's switches: DEBUGDUO=1 reads Duo and prints instead of sending; DEBUGAWS=1
 * reads the fake Duo and sends to the real AWS outputs (to check permissions and wiring).
 */
export function duoDebugMode(env: NodeJS.ProcessEnv = process.env): DuoDebugMode | undefined {
  const on = (v: string | undefined) =>
    v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  if (on(env.DEBUGDUO) && on(env.DEBUGAWS))
    throw new ConfigError(
      'DEBUGDUO and DEBUGAWS are both set: set one of them (or neither for a normal run)',
    );
  if (on(env.DEBUGDUO)) return 'print';
  if (on(env.DEBUGAWS)) return 'fake-duo';
  return undefined;
}

/** One poll of each enabled log (what a print run shows); a log that fails does not stop the others. */
export async function pollEachLogOnce(
  source: DuoSource,
  ctx: PollContext,
): Promise<{ results: PollResult[]; errors: Error[] }> {
  const results: PollResult[] = [];
  const errors: Error[] = [];
  for (const name of source.enabledLogs()) {
    try {
      results.push(await source.pollLog(name, ctx));
    } catch (e) {
      errors.push(e as Error);
    }
  }
  return { results, errors };
}
