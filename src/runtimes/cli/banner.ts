import type { Config } from '../../config/schema.js';

/** What a new user needs to see at start: where to put input, where output lands. */
export function banner(config: Config, configPath: string): string {
  const lines = [`logferry is running with ${configPath}`];
  for (const s of config.sources) {
    const where =
      'path' in s
        ? `drop files into ${s.path}`
        : 'stream' in s
          ? `reading Kinesis stream ${s.stream}`
          : `type ${s.type}`;
    lines.push(`  source ${s.name}: ${where}`);
  }
  for (const s of config.sinks) {
    const where =
      'path' in s
        ? `writing to ${s.path}`
        : s.type === 'stdout'
          ? 'writing NDJSON to stdout'
          : `type ${(s as { type: string }).type}`;
    lines.push(`  sink   ${s.name}: ${where}`);
  }
  if ('path' in config.dead_letter) lines.push(`  dead letters: ${config.dead_letter.path}`);
  if (config.daemon.status_listen)
    lines.push(`  status and dashboard: http://${config.daemon.status_listen}/`);
  lines.push('  stop with Ctrl-C (in-flight batches finish first)');
  return lines.join('\n');
}
