import { ConfigError, describeError, StateError } from '../../core/errors.js';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** Something failed at run time (a destination down, an unexpected error). */
  failure: 1,
  /** Bad usage or bad config: fix the command line or the file. */
  usage: 2,
  /** The input had bad parts; the good parts were handled. */
  badInput: 3,
  /** Stored state (a checkpoint) is unusable; a person must look. */
  state: 4,
} as const;

export function exitCodeFor(e: unknown): number {
  if (e instanceof ConfigError) return EXIT.usage;
  if (e instanceof StateError) return EXIT.state;
  return EXIT.failure;
}

/** Prints one line (never a stack, never a secret) and exits with the matching code. */
export function fail(e: unknown): never {
  process.stderr.write(`logferry: ${describeError(e)}\n`);
  if (process.env.LOGFERRY_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(exitCodeFor(e));
}
