import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildApp } from '../../app.js';
import { loadConfigFile } from '../../config/load.js';
import { type Config, configSchema, type SinkConfig } from '../../config/schema.js';
import type { Logger } from '../../core/component.js';
import { ConfigError, describeError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { runBatch } from '../../core/pipeline.js';
import type { DuoSource, PollResult } from '../../sources/duo/index.js';
import type { DuoSourceConfig } from '../../sources/duo/schema.js';
import { GeneratedEventStore } from '../../testing/duo-events.js';
import { FakeDuo } from '../../testing/duo-fake.js';
import { MemoryStateStore } from '../../testing/memory.js';
import { EXIT, fail } from './exit.js';

export interface PullOptions {
  config?: string;
  stdout?: boolean;
  since?: string;
  demo?: boolean;
  logLevel?: string;
}

export interface PullIo {
  progress(line: string): void;
  log?: Logger;
}

/** A fake Duo holding a few hours of generated, realistic events (the old DEBUGAWS mode). */
export async function startDemoDuo(now = Date.now()): Promise<{ fake: FakeDuo; endpoint: string }> {
  const fake = new FakeDuo();
  const start = now - 3 * 3_600_000;
  fake.stores.authentication = new GeneratedEventStore('authentication', 1200, start, 8000);
  fake.stores.administrator = new GeneratedEventStore('administrator', 60, start, 170_000);
  fake.stores.telephony = new GeneratedEventStore('telephony', 150, start, 70_000);
  return { fake, endpoint: await fake.listen() };
}

function demoConfig(dir: string): Config {
  return configSchema.parse({
    state: { type: 'file', path: join(dir, 'state') },
    dead_letter: { type: 'file', path: join(dir, 'dead-letter') },
    sources: [{ type: 'duo', name: 'duo', host: 'api-demo.duosecurity.com', ikey: 'DIDEMO', skey: 'demo' }],
    sinks: [{ type: 'stdout', name: 'stdout' }],
  });
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
 * `--demo`: against an in-process fake Duo with generated events; no network.
 */
export async function pullDuo(
  opts: PullOptions,
  io: PullIo,
): Promise<{ results: PollResult[]; errors: Error[] }> {
  let demo: { fake: FakeDuo; endpoint: string } | undefined;
  try {
    let config: Config;
    if (opts.config) config = await loadConfigFile(opts.config);
    else if (opts.demo) config = demoConfig(await mkdtemp(join(tmpdir(), 'logferry-demo-')));
    else throw new ConfigError('pull duo needs --config FILE (or --demo)');
    const found = config.sources.find((s) => s.type === 'duo') as DuoSourceConfig | undefined;
    if (!found) throw new ConfigError(`${opts.config}: no source of type duo in the config`);
    const duoCfg = found;
    if (opts.demo) {
      demo = await startDemoDuo();
      Object.assign(duoCfg, {
        endpoint: demo.endpoint,
        host: demo.fake.host,
        ikey: demo.fake.ikey,
        skey: demo.fake.skey,
      });
    }
    const since = opts.since ? parseSince(opts.since) : undefined;
    if (since !== undefined) duoCfg.lookback = Date.now() - since;
    // Only the duo source matters here; other sources would need their own setup.
    config.sources = [duoCfg];
    const sinkOverride: SinkConfig[] | undefined =
      opts.stdout || (opts.demo && !opts.config)
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
      if (opts.stdout && since === undefined) {
        const results: PollResult[] = [];
        const errors: Error[] = [];
        for (const name of source!.enabledLogs()) {
          try {
            results.push(await source!.pollLog(name, ctx));
          } catch (e) {
            errors.push(e as Error);
            io.progress(`${name}: ${describeError(e)}`);
          }
        }
        source!.client.close();
        return { results, errors };
      }
      const out = await source!.pollAll(ctx);
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
    .option('-c, --config <file>', 'config file with a source of type duo')
    .option('--stdout', 'poll each log once and print the events as NDJSON; checkpoints stay as they are')
    .option(
      '--since <date>',
      'backfill from this date (ISO 8601 or epoch ms), with a progress line on stderr',
    )
    .option('--demo', 'run against a built-in fake Duo with generated events (no network, no keys)')
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
