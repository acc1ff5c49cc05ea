import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../core/errors.js';
import { DailyFilesSink } from '../../sinks/daily_files/index.js';
import type { DailyFilesSinkConfig } from '../../sinks/daily_files/schema.js';
import { fail } from './exit.js';

export interface CleanOptions {
  sink?: string;
  days?: number;
  dryRun?: boolean;
  today?: string;
}

/**
 * Removes old day files of every daily_files sink of the config (or the one named), as the log
 * host's clean cron job did: by the day in the file's name, and only once it has gone quiet.
 */
export async function cleanDayFiles(config: Config, opts: CleanOptions = {}): Promise<string[]> {
  const sinks = config.sinks.filter(
    (s): s is DailyFilesSinkConfig => s.type === 'daily_files' && (!opts.sink || s.name === opts.sink),
  );
  if (sinks.length === 0)
    throw new ConfigError(
      opts.sink ? `no daily_files sink named '${opts.sink}'` : 'the config has no daily_files sink to clean',
    );
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  const removed: string[] = [];
  for (const cfg of sinks) {
    const sink = new DailyFilesSink(cfg);
    removed.push(...(await sink.applyRetention(today, { days: opts.days, dryRun: opts.dryRun })));
    await sink.close();
  }
  return removed;
}

function parseDays(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new ConfigError(`--days ${text}: write a whole number of days, at least 1`);
  return Number(text);
}

export function registerClean(program: Command): void {
  program
    .command('clean')
    .description(
      "delete day files older than the daily_files sinks' retention_days (or --days) that were not written to for as long",
    )
    .option('-c, --config <file>', 'config file', 'config/examples/local.yaml')
    .option('--sink <name>', 'only this daily_files sink')
    .option('--days <n>', 'keep this many days instead of retention_days (the old cron kept 370)')
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .action(async (opts: { config: string; sink?: string; days?: string; dryRun?: boolean }) => {
      try {
        const config = await loadConfigFile(opts.config);
        const days = opts.days === undefined ? undefined : parseDays(opts.days);
        const removed = await cleanDayFiles(config, { sink: opts.sink, days, dryRun: opts.dryRun });
        for (const p of removed) process.stdout.write(`${opts.dryRun ? 'would remove' : 'removed'} ${p}\n`);
        process.stderr.write(`${removed.length} day file(s) ${opts.dryRun ? 'to remove' : 'removed'}\n`);
      } catch (e) {
        fail(e);
      }
    });
}
