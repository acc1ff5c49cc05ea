import { Command } from 'commander';
import { registerBackfill } from './backfill.js';
import { registerClean } from './clean.js';
import { registerCtl } from './ctl.js';
import { registerDecode } from './decode-command.js';
import { EXIT } from './exit.js';
import { registerPull } from './pull.js';
import { registerReplay } from './replay.js';
import { registerRules } from './rules.js';
import { registerRun } from './run.js';
import { registerSearch } from './search.js';
import { registerSetup } from './setup.js';

/** Each command lives in its own module and registers itself here. */
const commands: ((program: Command) => void)[] = [
  registerRun,
  registerDecode,
  registerPull,
  registerSetup,
  registerReplay,
  registerRules,
  registerBackfill,
  registerSearch,
  registerClean,
  registerCtl,
];

export function buildProgram(): Command {
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
  for (const register of commands) register(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
