import type { Command } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
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
    .option(
      '--workers <n>',
      'decode threads for input over 1 MB of base64 records or JSON lines: auto (one per core, none on one core), or 0 (this thread) to 64',
      'auto',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 all decoded (or the reader closed the pipe, as `| head` does), 3 some parts were bad\n(reported on stderr), 2 usage error.',
    )
    .action(
      async (file: string | undefined, opts: { parser: string; envelope?: boolean; workers: string }) => {
        endQuietlyWhenReaderLeaves();
        try {
          const { bad } = await decode(file, {
            parser: opts.parser,
            workers: workersOption(opts.workers),
            format: opts.envelope ? 'envelope' : 'doc',
            stdout: process.stdout,
            report: (line) => process.stderr.write(`${line}\n`),
          });
          process.exitCode = bad > 0 ? EXIT.badInput : EXIT.ok;
        } catch (e) {
          fail(e);
        }
      },
    );
}

const workersSchema = z.union([
  z.literal('auto'),
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(0).max(64)),
]);

function workersOption(value: string): 'auto' | number {
  const parsed = workersSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError(
      `--workers ${value}: write auto, or a number of decode workers from 0 (none) to 64`,
      {
        cause: parsed.error,
      },
    );
  return parsed.data;
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
