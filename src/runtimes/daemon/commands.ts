import { duration } from '../../config/common.js';
import type { Logger, UnitControl } from '../../core/component.js';
import { ControlError } from '../../core/errors.js';
import { redactStrings } from '../../core/redact.js';
import { DUO_WATCHER_FOLDERS } from '../../sources/duo/import.js';
import type { SourceRunner } from './supervisor.js';
import { statusReport, type Thread, threadsOf } from './threads.js';

/**
 * The daemon's run-time command set, one parser and one executor for the three transports (HTTP
 * `POST /control`, `logferry ctl`, UDP from loopback). docs/operations.md lists the commands.
 */
export type Command =
  | { verb: 'status' | 'help' | 'clear' | 'rotate' }
  | { verb: 'thread'; name: string; action: 'start' | 'stop' }
  | { verb: 'thread'; name: string; action: 'interval'; ms: number }
  | { verb: 'thread'; name: string; action: 'maxcount'; count: number }
  | { verb: 'checkpoint'; name: string; action: 'show' }
  | { verb: 'checkpoint'; name: string; action: 'set'; value: string };

/**
 * An answer: duo_watcher's alert level (0 fine, 2 done, 3 help, 5 problem), the text an operator
 * reads, and for HTTP the structured part.
 */
export interface CommandAnswer {
  level: 0 | 2 | 3 | 5;
  text: string;
  data?: Record<string, unknown>;
}

export interface CommandContext {
  runners: readonly SourceRunner[];
  log: Logger;
  /** Closes and reopens every open output file (sinks, dead-letter store); names what reopened. */
  rotate(): Promise<string[]>;
  /** For the audit line: which way the command came and from where. */
  transport: 'http' | 'udp';
  peer: string;
}

export const MAX_COMMAND_CHARS = 512;
const MAX_WORDS = 5;
/** Unit ids hold the stream and shard (`central/app-logs/shardId-000000000001`): no spaces, no `..`. */
const NAME = /^[A-Za-z0-9][\w.:/-]{0,199}$/;
const VALUE = /^[\x21-\x7e]{1,256}$/;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 7 * 86_400_000;
const MAX_COUNT = 1_000_000_000;

const invalid = (message: string) => new ControlError(message, { refusal: 'invalid' });

/** Splits a command line on spaces; the line itself is checked for size and control characters. */
export function splitCommand(line: string): string[] {
  if (line.length > MAX_COMMAND_CHARS) throw invalid(`command over ${MAX_COMMAND_CHARS} characters`);
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) throw invalid('command has control characters');
  return line.trim().split(/\s+/).filter(Boolean);
}

/**
 * Reads a command from its words. `bareSeconds` accepts `interval 30` as seconds: duo_watcher's
 * UDP protocol wrote it so, while the HTTP API and `logferry ctl` take durations as the config
 * does (`30s`), so that a bare number is never misread.
 */
export function parseCommand(words: readonly string[], opts: { bareSeconds?: boolean } = {}): Command {
  if (words.length === 0) throw invalid('empty command (see: help)');
  if (words.length > MAX_WORDS || words.join(' ').length > MAX_COMMAND_CHARS)
    throw invalid('too many words (see: help)');
  const [verb, name, action, arg, ...rest] = words as [string, ...(string | undefined)[]];
  if (verb === 'status' || verb === 'help' || verb === 'clear' || verb === 'rotate') {
    if (name !== undefined) throw invalid(`${verb} takes no arguments`);
    return { verb };
  }
  if (verb !== 'thread' && verb !== 'checkpoint') throw invalid('Unrecognized command (see: help)');
  if (name === undefined || action === undefined || rest.length > 0)
    throw invalid(
      `write ${verb} NAME ${verb === 'thread' ? 'start|stop|interval D|maxcount N' : 'show|set VALUE'}`,
    );
  checkName(name);
  return verb === 'thread' ? threadCommand(name, action, arg, opts) : checkpointCommand(name, action, arg);
}

function checkName(name: string): void {
  // The name is quoted in answers only once it has passed this check.
  if (!NAME.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..'))
    throw invalid('not a thread or unit name: write it as help lists it (letters, digits, . _ - : /)');
}

function threadCommand(
  name: string,
  action: string,
  arg: string | undefined,
  opts: { bareSeconds?: boolean },
): Command {
  if (action === 'start' || action === 'stop' || action === 'terminate') {
    if (arg !== undefined) throw invalid(`thread ${name} ${action} takes no value`);
    return { verb: 'thread', name, action: action === 'terminate' ? 'stop' : action };
  }
  if (action === 'interval') return { verb: 'thread', name, action, ms: intervalMs(arg, opts) };
  if (action === 'maxcount') {
    if (arg === undefined || !/^\d{1,10}$/.test(arg) || Number(arg) > MAX_COUNT)
      throw invalid(
        `thread ${name} maxcount: write a whole number of batches up to ${MAX_COUNT} (0: no limit)`,
      );
    return { verb: 'thread', name, action, count: Number(arg) };
  }
  throw invalid(`thread ${name}: write start, stop, interval or maxcount`);
}

function intervalMs(arg: string | undefined, opts: { bareSeconds?: boolean }): number {
  if (arg === undefined) throw invalid('thread NAME interval: write a duration like 30s or 5m');
  const ms = opts.bareSeconds && /^\d{1,7}$/.test(arg) ? Number(arg) * 1000 : parseDuration(arg);
  if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS)
    throw invalid(`interval must be between ${MIN_INTERVAL_MS}ms and 7d`);
  return ms;
}

function parseDuration(arg: string): number {
  const r = duration.safeParse(arg);
  if (!r.success) throw invalid(`interval: ${r.error.issues[0]?.message ?? 'not a duration'}`);
  return r.data;
}

function checkpointCommand(name: string, action: string, arg: string | undefined): Command {
  if (action === 'show') {
    if (arg !== undefined) throw invalid(`checkpoint ${name} show takes no value`);
    return { verb: 'checkpoint', name, action };
  }
  if (action === 'set') {
    if (arg === undefined || !VALUE.test(arg))
      throw invalid(`checkpoint ${name} set: write the value as one word of printable characters`);
    return { verb: 'checkpoint', name, action, value: arg };
  }
  throw invalid(`checkpoint ${name}: write show or set VALUE`);
}

/** The command as the audit line shows it: only parts that passed the checks above. */
export function commandText(c: Command): string {
  switch (c.verb) {
    case 'thread':
      if (c.action === 'interval') return `thread ${c.name} interval ${c.ms}ms`;
      if (c.action === 'maxcount') return `thread ${c.name} maxcount ${c.count}`;
      return `thread ${c.name} ${c.action}`;
    case 'checkpoint':
      return c.action === 'set' ? `checkpoint ${c.name} set ${c.value}` : `checkpoint ${c.name} show`;
    default:
      return c.verb;
  }
}

/** Runs a parsed command; throws ControlError for what it refuses. Controls are audited with the peer. */
export async function runCommand(c: Command, ctx: CommandContext): Promise<CommandAnswer> {
  const answer = await execute(c, ctx);
  if (c.verb !== 'status' && c.verb !== 'help' && !(c.verb === 'checkpoint' && c.action === 'show'))
    ctx.log.info(
      { transport: ctx.transport, remote: ctx.peer, command: commandText(c) },
      `control: ${commandText(c)} by ${ctx.peer} over ${ctx.transport}: ${answer.text.split('\n')[0]}`,
    );
  return answer;
}

/** Logs a refused command (without its text when it did not parse) and passes the error on. */
export function auditRefusal(e: ControlError, ctx: CommandContext, c?: Command): void {
  const what = c ? commandText(c) : 'a command';
  ctx.log.warn(
    { transport: ctx.transport, remote: ctx.peer, refusal: e.refusal, ...(c ? { command: what } : {}) },
    `control: ${what} by ${ctx.peer} over ${ctx.transport} refused: ${e.message}`,
  );
}

async function execute(c: Command, ctx: CommandContext): Promise<CommandAnswer> {
  switch (c.verb) {
    case 'status': {
      const r = statusReport(ctx.runners);
      return { ...r, data: { sources: redactStrings(ctx.runners.map((x) => x.status())) } };
    }
    case 'help':
      return { level: 3, text: helpText(ctx.runners) };
    case 'clear':
      return { level: 0, text: `Cleared the errors of ${clearAll(ctx.runners)} sources and units` };
    case 'rotate': {
      const reopened = await ctx.rotate();
      return {
        level: 0,
        text: reopened.length ? `Okay: reopened ${reopened.join(', ')}` : 'Okay: no output keeps files open',
        data: { reopened },
      };
    }
    case 'thread':
      return threadAction(c, resolveThread(c.name, ctx.runners));
    case 'checkpoint':
      return checkpointAction(c, unitOf(resolveThread(c.name, ctx.runners), 'checkpoint'));
  }
}

function clearAll(runners: readonly SourceRunner[]): number {
  let n = 0;
  for (const r of runners) {
    r.clearErrors();
    n++;
    for (const u of r.source.units?.() ?? []) {
      u.clearErrors?.();
      n++;
    }
  }
  return n;
}

/**
 * A thread by the name help lists, or `SOURCE/UNIT` / `SOURCE/LOG` (`duo/authentication`) for a
 * unit or Duo log that the list names otherwise.
 */
export function resolveThread(name: string, runners: readonly SourceRunner[]): Thread {
  const threads = threadsOf(runners);
  const exact = threads.find((t) => t.name === name);
  if (exact) return exact;
  const slash = name.indexOf('/');
  if (slash > 0) {
    const source = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    const byLog = threads.find((t) => t.runner.source.name === source && t.log?.name === rest);
    if (byLog) return byLog;
    const runner = runners.find((r) => r.source.name === source);
    const unit = runner?.unit(rest);
    if (runner && unit) return { name, runner, unit };
  }
  const log = Object.entries(DUO_WATCHER_FOLDERS).find(([, short]) => short === name)?.[0];
  if (log) {
    const logs = threads.filter((t) => t.log?.name === log);
    if (logs.length > 1)
      throw new ControlError(`${name} is ambiguous: write ${logs.map((t) => t.name).join(' or ')}`, {
        refusal: 'invalid',
      });
  }
  throw new ControlError(`No such thread or unit: ${name} (see: help)`, { refusal: 'unknown' });
}

function unitOf(t: Thread, what: string): UnitControl {
  if (t.unit) return t.unit;
  throw new ControlError(
    `${t.name}: source ${t.runner.source.name} does not run it as a unit, so its ${what} cannot be changed at run time`,
    { refusal: 'unsupported' },
  );
}

function threadAction(c: Extract<Command, { verb: 'thread' }>, t: Thread): CommandAnswer {
  switch (c.action) {
    case 'stop':
      return stopThread(t);
    case 'start':
      return startThread(t);
    case 'interval': {
      const unit = unitOf(t, 'interval');
      if (!unit.setIntervalMs) throw unsupported(t, 'interval');
      unit.setIntervalMs(c.ms);
      return { level: 2, text: `Thread ${t.name} interval ${c.ms / 1000}s from its next poll` };
    }
    case 'maxcount': {
      const unit = unitOf(t, 'maxcount');
      if (!unit.setMaxCount) throw unsupported(t, 'maxcount');
      unit.setMaxCount(c.count === 0 ? undefined : c.count);
      return {
        level: 2,
        text:
          c.count === 0
            ? `Thread ${t.name} maxcount lifted`
            : `Thread ${t.name} holds after ${c.count} more batches (start resumes it)`,
      };
    }
  }
}

const unsupported = (t: Thread, what: string) =>
  new ControlError(`${t.name}: this unit has no run-time ${what}`, { refusal: 'unsupported' });

/** A unit, or (for a source without units, like Duo's logs today) the whole source with its other threads. */
function stopThread(t: Thread): CommandAnswer {
  notStartedYet(t);
  const target = t.unit ?? t.runner;
  const state = target.status().state;
  if (state === 'stopped' || state === 'failed' || state === 'finished')
    throw new ControlError(`Thread ${t.name} is not running (${String(state)})`, { refusal: 'conflict' });
  target.pause();
  return { level: 2, text: `Thread ${t.name} terminated${withOthers(t)}` };
}

function startThread(t: Thread): CommandAnswer {
  notStartedYet(t);
  const target = t.unit ?? t.runner;
  if (target.status().state !== 'paused')
    throw new ControlError(`Thread ${t.name} is already active.`, { refusal: 'conflict' });
  target.resume();
  return { level: 2, text: `Thread ${t.name} started${withOthers(t)}` };
}

/** A Duo log is its own unit once its source has started it; until then it is not the whole source. */
function notStartedYet(t: Thread): void {
  if (t.log && !t.unit)
    throw new ControlError(`Thread ${t.name} is not started yet`, { refusal: 'conflict' });
}

/** Stopping a thread that is not its own unit stops the whole source: say which threads go with it. */
function withOthers(t: Thread): string {
  if (t.unit) return '';
  const others = threadsOf([t.runner])
    .filter((o) => o.name !== t.name && !o.unit)
    .map((o) => o.name);
  return others.length ? ` (with ${others.join(', ')}: source ${t.runner.source.name} as a whole)` : '';
}

async function checkpointAction(
  c: Extract<Command, { verb: 'checkpoint' }>,
  unit: UnitControl,
): Promise<CommandAnswer> {
  const name = c.name;
  if (c.action === 'show') {
    if (!unit.showCursor)
      throw new ControlError(`${name}: this unit cannot show its checkpoint`, { refusal: 'unsupported' });
    const cursor = unit.showCursor();
    return {
      level: 0,
      text: cursor === undefined ? `${name} has no checkpoint yet` : `${name} checkpoint ${cursor}`,
      data: { checkpoint: cursor ?? null },
    };
  }
  if (!unit.setCursor)
    throw new ControlError(`${name}: this unit cannot have its checkpoint set`, { refusal: 'unsupported' });
  const shown = await unit.setCursor(c.value);
  return {
    level: 2,
    text: `${name} checkpoint set to ${shown}; it reads on from there when started`,
    data: { checkpoint: shown },
  };
}

const HELP = [
  'Help yourself',
  '',
  'Commands are:',
  '  status: Report status (from anywhere)',
  '  clear: Reset error counters and last errors',
  '  rotate: Close and reopen output files (logrotate; also SIGHUP)',
  '  thread {name} start',
  '  thread {name} stop: holds it between batches, keeping its place',
  '  thread {name} interval {duration} (30s, 5m; bare seconds over UDP)',
  '  thread {name} maxcount {count}: holds after that many more batches (0: no limit)',
  '  checkpoint {name} show',
  '  checkpoint {name} set {value}: while the thread is stopped',
  'Threads are:',
].join('\n');

function helpText(runners: readonly SourceRunner[]): string {
  const lines = threadsOf(runners).map((t) => {
    if (t.log) return `  ${t.name}: Duo ${t.log.name} log of source ${t.runner.source.name}`;
    if (t.unit) return `  ${t.name}: unit ${t.unit.unit.id} of source ${t.runner.source.name}`;
    return `  ${t.name}: source ${t.name}`;
  });
  return `${HELP}\n${lines.join('\n')}`;
}
