import type { Config } from '../../config/schema.js';

function sourceLine(s: Config['sources'][number]): string {
  if ('path' in s) return `drop files into ${s.path}`;
  if ('stream' in s) return `reading Kinesis stream ${s.stream}`;
  if ('queue_url' in s) return `reading S3 notifications from ${s.queue_url}`;
  if ('host' in s) return `pulling Duo logs from ${s.host}`;
  if (s.type === 'demo') return 'generating realistic CloudWatch Logs records';
  if (s.type === 'http_intake') {
    const paths = [s.firehose && `${s.firehose.path} (Firehose)`, s.ingest && `${s.ingest.path} (NDJSON)`];
    return `accepting POST on http://${s.listen}: ${paths.filter(Boolean).join(', ')}`;
  }
  return `type ${s.type}`;
}

function sinkLine(s: Config['sinks'][number]): string {
  if ('path' in s) return `writing to ${s.path}`;
  if (s.type === 'stdout') return 'writing NDJSON to stdout';
  return `type ${s.type}`;
}

/** What a new user needs to see at start: where to put input, where output lands. */
export function banner(
  config: Config,
  configPath: string,
  statusListen: string | false = config.daemon.status_listen,
): string {
  const lines = [`logferry is running with ${configPath}`];
  for (const s of config.sources) lines.push(`  source ${s.name}: ${sourceLine(s)}`);
  for (const s of config.sinks) lines.push(`  sink   ${s.name}: ${sinkLine(s)}`);
  if ('path' in config.dead_letter) lines.push(`  dead letters: ${config.dead_letter.path}`);
  if (statusListen) lines.push(`  status and dashboard: http://${statusListen}/`);
  const udp = config.daemon.udp;
  if (udp) lines.push(`  UDP status (duo_watcher ding): ${udp.host}:${udp.port}`);
  lines.push('  stop with Ctrl-C (in-flight batches finish first)');
  return lines.join('\n');
}
