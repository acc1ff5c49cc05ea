import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { statusListenSchema } from '../../config/schema.js';
import { ConfigError, describeError } from '../../core/errors.js';
import { createLogger } from '../../platform/log.js';
import { demoSourceSchema } from '../../sources/demo/schema.js';
import { startDaemon } from '../daemon/daemon.js';
import { banner } from './banner.js';
import { fail } from './exit.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the daemon: every configured source as its own loop, with the status API')
    .option('-c, --config <file>', 'config file', 'config/examples/local.yaml')
    .option('--demo', 'add a source that generates realistic CloudWatch Logs records (no AWS needed)')
    .option(
      '--status <host:port>',
      'listen address of the status API and dashboard (beyond loopback needs daemon.status_token), or "off"',
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
    .action(async (opts: { config: string; demo?: boolean; status?: string; logLevel?: string }) => {
      try {
        const config = await loadConfigFile(opts.config);
        if (opts.demo)
          config.sources.push(
            demoSourceSchema.parse({ type: 'demo', name: 'demo' }) as (typeof config.sources)[number],
          );
        const log = createLogger(opts.logLevel ?? config.daemon.log_level);
        const statusListen = parseStatusFlag(opts.status);
        const daemon = await startDaemon(config, { log, statusListen });
        process.stderr.write(`${banner(config, opts.config, statusListen ?? config.daemon.status_listen)}\n`);
        const stop = async (sig: string) => {
          log.info({ signal: sig }, 'stopping: finishing in-flight batches');
          await daemon.stop();
          process.exit(0);
        };
        process.once('SIGTERM', () => void stop('SIGTERM'));
        process.once('SIGINT', () => void stop('SIGINT'));
        // logrotate's postrotate (or systemd's ExecReload) asks for the output files to be reopened.
        process.on('SIGHUP', () => {
          daemon
            .rotate()
            .catch((e: unknown) => log.error({}, `rotate on SIGHUP failed: ${describeError(e)}`));
        });
        await daemon.done;
        await daemon.stop();
        // Every source finished on its own (e.g. a demo with max_records).
        process.exit(daemon.runners.some((r) => r.state === 'failed') ? 1 : 0);
      } catch (e) {
        fail(e);
      }
    });
}

/** `--status` is checked like `daemon.status_listen` in the config: same rule, same kind of error. */
export function parseStatusFlag(value: string | undefined): string | false | undefined {
  if (value === undefined) return undefined;
  if (value === 'off') return false;
  const r = statusListenSchema.safeParse(value);
  if (r.success) return r.data;
  throw new ConfigError(`--status ${JSON.stringify(value)}: ${r.error.issues[0]!.message} (or "off")`);
}
