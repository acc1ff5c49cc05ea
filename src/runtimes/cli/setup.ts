import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { ConfigError } from '../../core/errors.js';
import { createClient, describeEndpoint } from '../../sinks/opensearch/client.js';
import type { OpenSearchSinkConfig } from '../../sinks/opensearch/schema.js';
import { installTemplate } from '../../sinks/opensearch/template.js';
import { fail } from './exit.js';

/** Installs the ECS index template for every OpenSearch sink of the config (or the one named). */
export async function setupOpenSearch(
  config: Config,
  opts: { sink?: string; report: (line: string) => void },
): Promise<number> {
  const targets = config.sinks.filter(
    (s): s is OpenSearchSinkConfig => s.type === 'opensearch' && (!opts.sink || s.name === opts.sink),
  );
  if (targets.length === 0)
    throw new ConfigError(
      opts.sink
        ? `no opensearch sink named '${opts.sink}' in the config`
        : 'the config has no opensearch sink',
    );
  for (const cfg of targets) {
    const client = await createClient(cfg);
    try {
      const patterns = await installTemplate(client, cfg);
      opts.report(
        `${cfg.name}: index template '${cfg.template.name}' for ${patterns.join(', ')}${cfg.data_stream ? ' (data streams)' : ''} installed on ${describeEndpoint(cfg.endpoint)}`,
      );
    } finally {
      await client.close();
    }
  }
  return targets.length;
}

export function registerSetup(program: Command): void {
  const setup = program.command('setup').description('prepare a destination for logferry');
  setup
    .command('opensearch')
    .description(
      'install the ECS index template on the OpenSearch/Elasticsearch cluster of each opensearch sink',
    )
    .option('-c, --config <file>', 'config file', 'config/examples/local.yaml')
    .option('--sink <name>', 'only this sink')
    .action(async (opts: { config: string; sink?: string }) => {
      try {
        const config = await loadConfigFile(opts.config);
        await setupOpenSearch(config, { sink: opts.sink, report: (l) => process.stdout.write(`${l}\n`) });
      } catch (e) {
        fail(e);
      }
    });
}
