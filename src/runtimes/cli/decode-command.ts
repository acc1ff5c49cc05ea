import type { Command } from 'commander';
import { decode } from './decode.js';
import { EXIT, fail } from './exit.js';

export function registerDecode(program: Command): void {
  program
    .command('decode')
    .description(
      'print NDJSON events from a Lambda event (Kinesis, Firehose, SQS, CloudWatch Logs {"awslogs":…}), base64 records one per line, a gzip CloudWatch payload, a Firehose archive of CloudWatch Logs, an AWS log file, or JSON lines',
    )
    .argument('[file]', 'input file; - or nothing reads standard input')
    .option('-p, --parser <name>', 'parser for the payloads; envelopes are unwrapped for any parser', 'auto')
    .option('--envelope', 'print id, dataset and origin around each document')
    .addHelpText(
      'after',
      '\nExit codes: 0 all decoded (or the reader closed the pipe, as `| head` does), 3 some parts were bad\n(reported on stderr), 2 usage error.',
    )
    .action(async (file: string | undefined, opts: { parser: string; envelope?: boolean }) => {
      endQuietlyWhenReaderLeaves();
      try {
        const { bad } = await decode(file, {
          parser: opts.parser,
          format: opts.envelope ? 'envelope' : 'doc',
          stdout: process.stdout,
          report: (line) => process.stderr.write(`${line}\n`),
        });
        process.exitCode = bad > 0 ? EXIT.badInput : EXIT.ok;
      } catch (e) {
        fail(e);
      }
    });
}

/**
 * A reader that stops early (`logferry decode f | head`) closes the pipe: decode ends there, with
 * no stack trace, as any Unix filter does. Other output errors fail with one line.
 */
function endQuietlyWhenReaderLeaves(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    fail(e);
  });
}
