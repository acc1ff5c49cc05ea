import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../app.js';
import { duopullConfig } from '../../config/duopull.js';
import type { Logger } from '../../core/component.js';
import { Deadline } from '../../core/deadline.js';
import { SourceError } from '../../core/errors.js';
import { runBatch } from '../../core/pipeline.js';
import { createLogger } from '../../platform/log.js';
import type { DuoSource, PollResult } from '../../sources/duo/index.js';
import { MemoryStateStore } from '../../state/memory/index.js';
import {
  type DuoDebugMode,
  duoDebugMode,
  duoSourceOf,
  isolate,
  pollEachLogOnce,
  startDemoDuo,
  useDemoDuo,
} from '../duo-debug.js';
import { type LambdaContext, lambdaApp, loadLambdaConfig, pickSource } from './bootstrap.js';

export interface DuoPullSummary {
  logs: PollResult[];
  errors: string[];
  cut_short: boolean;
}

/**
 * Scheduled (EventBridge) handler: pulls the three Duo logs, each a unit run once by the unit
 * runner, until caught up or the deadline guard says stop, checkpointing after every delivered
 * page. The next schedule goes
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
  const debug = duoDebugMode();
  if (debug) return debugRun(debug, context);
  const { app, source } = await duoSource();
  const deadline = Deadline.fromLambda(context);
  const { results, errors } = await source.pollAll({
    state: app.state,
    log: app.deps.log,
    deadline,
    process: (batch) => runBatch(batch, app.pipeline, deadline),
  });
  return finish(results, errors, deadline, app.deps.log);
}

/**
 * The Go function's debug switches. DEBUGDUO=1: one poll per log from Duo, printed as NDJSON
 * to the function's log; nothing is sent, no checkpoint or dead letter is written. DEBUGAWS=1:
 * the generated events of the built-in fake Duo (marked `labels.logferry_demo`) go to the real
 * outputs and dead-letter store, with checkpoints under their own source name
 * (`<source>-debugaws`), so the AWS side is checked without moving the real position.
 * Each debug invocation builds its own app: the cached one serves the real runs.
 */
async function debugRun(mode: DuoDebugMode, context: LambdaContext): Promise<DuoPullSummary> {
  const printing = mode === 'print';
  const config = await loadLambdaConfig(process.env, () => duopullConfig(process.env, { duoOnly: printing }));
  const source = duoSourceOf(config, process.env.LOGFERRY_SOURCE);
  config.sources = [source];
  const log = createLogger(process.env.LOGFERRY_LOG_LEVEL ?? config.daemon.log_level);
  const deadline = Deadline.fromLambda(context);
  const scratch = printing ? await mkdtemp(join(tmpdir(), 'logferry-debugduo-')) : undefined;
  const demo = printing ? undefined : await startDemoDuo();
  try {
    if (scratch) isolate(config, scratch);
    if (demo) {
      source.name = `${source.name}-debugaws`;
      useDemoDuo(config, source, demo.fake, demo.endpoint);
    }
    const app = await buildApp(config, {
      log,
      sinkOverride: printing ? [{ type: 'stdout', name: 'stdout', format: 'doc' }] : undefined,
    });
    try {
      const [duo] = (await app.createSources()) as DuoSource[];
      const ctx = {
        state: printing ? new MemoryStateStore() : app.state,
        log,
        deadline,
        process: (batch: Parameters<typeof runBatch>[0]) => runBatch(batch, app.pipeline, deadline),
      };
      const { results, errors } = printing ? await pollEachLogOnce(duo!, ctx) : await duo!.pollAll(ctx);
      duo!.client.close();
      return finish(results, errors, deadline, log);
    } finally {
      await app.close();
    }
  } finally {
    await demo?.fake.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function finish(results: PollResult[], errors: Error[], deadline: Deadline, log: Logger): DuoPullSummary {
  const summary: DuoPullSummary = {
    logs: results,
    errors: errors.map((e) => e.message),
    cut_short: deadline.expired(),
  };
  log.info(summary, 'duo pull done');
  const failed = results.filter((r) => r.failed);
  if (errors.length || failed.length)
    throw new SourceError(
      `duo pull: ${[...summary.errors, ...failed.map((r) => `${r.log}: ${r.failed}`)].join('; ')}`,
      { retryable: true },
    );
  return summary;
}
