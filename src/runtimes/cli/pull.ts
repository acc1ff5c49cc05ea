import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildApp } from '../../app.js';
import { duopullConfig } from '../../config/duopull.js';
import { loadConfigFile } from '../../config/load.js';
import { type Config, configSchema, type SinkConfig } from '../../config/schema.js';
import type { Logger } from '../../core/component.js';
import { ConfigError, describeError } from '../../core/errors.js';
import { runBatch, writerCommitted } from '../../core/pipeline.js';
import { createLogger } from '../../platform/log.js';
import type { DuoSource, PollResult } from '../../sources/duo/index.js';
import { MemoryStateStore } from '../../state/memory/index.js';
import { duoSourceOf, isolate, pollEachLogOnce, startDemoDuo, useDemoDuo } from '../duo-debug.js';
import { EXIT, fail } from './exit.js';

export interface PullOptions {
  config?: string;
  stdout?: boolean;
  since?: string;
  demo?: boolean;
  toSinks?: boolean;
  logLevel?: string;
}

export interface PullIo {
  progress(line: string): void;
  log?: Logger;
}

export { startDemoDuo } from '../duo-debug.js';

function demoConfig(): Config {
  return configSchema.parse({
    sources: [{ type: 'duo', name: 'duo', host: 'api-demo.duosecurity.com', ikey: 'DIDEMO', skey: 'demo' }],
    sinks: [{ type: 'stdout', name: 'stdout' }],
  });
}

/** The config file, else the Go function's DUOPULL_* variables, else (for --demo) a built-in one. */
async function pullConfig(opts: PullOptions, env: NodeJS.ProcessEnv): Promise<Config> {
  if (opts.config) return loadConfigFile(opts.config, env);
  const fromEnv = duopullConfig(env, { duoOnly: opts.stdout || (opts.demo && !opts.toSinks) });
  if (fromEnv) return fromEnv;
  if (opts.demo) return demoConfig();
  throw new ConfigError('pull duo needs --config FILE, the DUOPULL_* variables (see docs/duo.md) or --demo');
}

function checkFlags(opts: PullOptions): void {
  if (opts.toSinks && !opts.demo)
    throw new ConfigError('--to-sinks goes with --demo (a real pull delivers to the sinks anyway)');
  if (opts.toSinks && opts.stdout)
    throw new ConfigError('--to-sinks and --stdout contradict each other: pick one');
}

function parseSince(text: string): number {
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(t))
    throw new ConfigError(`--since ${text}: write a date like 2026-11-01 or 2026-11-01T12:00:00Z`);
  if (t > Date.now()) throw new ConfigError(`--since ${text} is in the future`);
  return t;
}

/**
 * `logferry pull duo`: one pull of the Duo logs. Plain: until caught up, into the configured
 * sinks and checkpoints. `--stdout`: one poll per log printed as NDJSON, checkpoints untouched.
 * `--since`: a backfill from that date, checkpoints untouched, a progress line on stderr.
 * `--demo`: against an in-process fake Duo with generated events; no network. A demo never
 * touches the configured checkpoints, dead letters, rules or alerts, and prints unless
 * `--to-sinks` sends its (labelled) events to the configured sinks.
 */
export async function pullDuo(
  opts: PullOptions,
  io: PullIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ results: PollResult[]; errors: Error[] }> {
  checkFlags(opts);
  const config = await pullConfig(opts, env);
  const duoCfg = duoSourceOf(config, undefined, opts.config);
  // Only the duo source matters here; other sources would need their own setup.
  config.sources = [duoCfg];
  const printing = Boolean(opts.stdout) || Boolean(opts.demo && !opts.toSinks);
  // A demo or a print run must not leave traces where the real collector keeps its position.
  const scratch = opts.demo || opts.stdout ? await mkdtemp(join(tmpdir(), 'logferry-pull-')) : undefined;
  const demo = opts.demo ? await startDemoDuo() : undefined;
  try {
    if (scratch) isolate(config, scratch);
    if (demo) useDemoDuo(config, duoCfg, demo.fake, demo.endpoint);
    const since = opts.since ? parseSince(opts.since) : undefined;
    if (since !== undefined) duoCfg.lookback = Date.now() - since;
    const sinkOverride: SinkConfig[] | undefined = printing
      ? [{ type: 'stdout', name: 'stdout', format: 'doc' }]
      : undefined;
    const log = io.log ?? createLogger(opts.logLevel ?? 'warn');
    const app = await buildApp(config, { log, sinkOverride });
    try {
      const [source] = (await app.createSources()) as DuoSource[];
      // Printing or backfilling must not move the collector's position.
      const state = opts.stdout || since !== undefined ? new MemoryStateStore() : app.state;
      if (state === app.state) await source!.checkCheckpoints(state);
      const started = Date.now();
      const ctx = {
        state,
        log,
        process: (b: Parameters<typeof runBatch>[0]) => runBatch(b, app.pipeline),
        committed: (writer: string) => writerCommitted(app.pipeline, source!.name, writer),
        onPage:
          since !== undefined
            ? (p: { log: string; ts: number; events: number }) => {
                const end = Date.now() - duoCfg.delay;
                const pct = Math.min(100, Math.max(0, ((p.ts - since) / Math.max(1, end - since)) * 100));
                io.progress(
                  `${p.log.padEnd(14)} ${bar(pct)} ${pct.toFixed(0).padStart(3)}%  ${new Date(p.ts).toISOString()}  ${p.events} events  ${((Date.now() - started) / 1000).toFixed(1)}s`,
                );
              }
            : undefined,
      };
      const out =
        opts.stdout && since === undefined ? await pollEachLogOnce(source!, ctx) : await source!.pollAll(ctx);
      source!.client.close();
      if (since !== undefined)
        for (const r of out.results)
          if (r.caughtUp) io.progress(`${r.log.padEnd(14)} ${bar(100)} 100%  caught up  ${r.events} events`);
      for (const e of out.errors) io.progress(describeError(e));
      return out;
    } finally {
      await app.close();
    }
  } finally {
    await demo?.fake.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

function bar(pct: number, width = 20): string {
  const full = Math.round((pct / 100) * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
}

export function registerPull(program: Command): void {
  program
    .command('pull')
    .description(
      'pull logs from an API once: `pull duo` reads the Duo authentication, administrator and telephony logs',
    )
    .argument('<what>', 'what to pull (duo)')
    .option(
      '-c, --config <file>',
      'config file with a source of type duo (without it: the DUOPULL_* variables of the old Go Lambda)',
    )
    .option('--stdout', 'poll each log once and print the events as NDJSON; checkpoints stay as they are')
    .option(
      '--since <date>',
      'backfill from this date (ISO 8601 or epoch ms), with a progress line on stderr',
    )
    .option(
      '--demo',
      'run against a built-in fake Duo with generated events (no network, no keys); prints them, and never touches the configured checkpoints, dead letters or alerts',
    )
    .option(
      '--to-sinks',
      'with --demo: send the generated events (labelled logferry_demo) to the configured sinks',
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 a log could not be read, 2 usage/config error, 4 checkpoint unusable.',
    )
    .action(async (what: string, opts: PullOptions) => {
      try {
        if (what !== 'duo') throw new ConfigError(`pull ${what}: only 'duo' can be pulled`);
        const { results, errors } = await pullDuo(opts, {
          progress: (line) => process.stderr.write(`${line}\n`),
        });
        const events = results.reduce((n, r) => n + r.events, 0);
        process.stderr.write(
          `pulled ${events} events (${results.map((r) => `${r.log} ${r.events}${r.failed ? ' (delivery failed)' : ''}`).join(', ')})\n`,
        );
        process.exitCode = errors.length || results.some((r) => r.failed) ? EXIT.failure : EXIT.ok;
      } catch (e) {
        fail(e);
      }
    });
}
