import { Command } from 'commander';
import { tuneV8 } from '../../platform/v8-tuning.js';
import { EXIT } from './exit.js';

type Register = (program: Command) => void;

/**
 * Each command lives in its own module and registers itself here, by its top-level name. The
 * modules load lazily (the build splits them into chunks): `logferry decode` no longer starts by
 * loading the daemon, the AWS SDK clients and OpenSearch, which took ~0.6 s of CPU per run.
 */
const commands: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./run.js')).registerRun,
  decode: async () => (await import('./decode-command.js')).registerDecode,
  pull: async () => (await import('./pull.js')).registerPull,
  setup: async () => (await import('./setup.js')).registerSetup,
  replay: async () => (await import('./replay.js')).registerReplay,
  rules: async () => (await import('./rules.js')).registerRules,
  backfill: async () => (await import('./backfill.js')).registerBackfill,
  search: async () => (await import('./search.js')).registerSearch,
  query: async () => (await import('./search.js')).registerSearch,
  clean: async () => (await import('./clean.js')).registerClean,
  ctl: async () => (await import('./ctl.js')).registerCtl,
};

/**
 * The program with the commands that `argv` can reach: the one it names, or all of them (for
 * `--help`, `help`, no command or an unknown one, so help and errors list every command).
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('logferry')
    .description('Collect, normalize, detect and deliver security logs (CloudWatch, CloudTrail, ELB, Duo)')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride((err) => {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        process.exit(EXIT.ok);
      process.exit(EXIT.usage);
    });
  const named = argv[2] !== undefined && Object.hasOwn(commands, argv[2]) ? commands[argv[2]] : undefined;
  const loaders = named ? [named] : [...new Set(Object.values(commands))];
  const registers = new Set(await Promise.all(loaders.map((load) => load())));
  for (const register of registers) register(program);
  return program;
}

tuneV8();
await (await buildProgram()).parseAsync(process.argv);
