import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger, UnitControl } from '../../core/component.js';
import { ConfigError } from '../../core/errors.js';
import { DUO_WATCHER_FOLDERS } from '../../sources/duo/import.js';
import type { SourceRunner } from './supervisor.js';

/**
 * The UDP "ding" responder of duo_watcher's Argus daemon, so the log host's monitoring keeps
 * asking a running collector how it is. Status is answered to anyone; controls only to the
 * loopback addresses local tools send from. A request is `[seq]command`; every answer starts
 * with the request's seq, then `P<alert level>`.
 */
export interface DingOptions {
  host: string;
  port: number;
  /** Answers per second at most, so the responder cannot be used to flood a spoofed address. */
  max_answers_per_second: number;
}

export interface DingResponder {
  port: number;
  close(): Promise<void>;
}

/** What the Argus daemon replied with for a thread that had not run a cycle for four intervals. */
const DEAD_AFTER_INTERVALS = 4;
const MAX_REQUEST_BYTES = 1024;
const CONTROL_FROM = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

interface LogView {
  state?: string;
  checkpoint?: string;
  polls?: number;
  interval?: number;
  last_poll?: string;
}

interface Thread {
  name: string;
  runner: SourceRunner;
  /** One Duo log of the runner's source (its unit, once started), or the whole source. */
  log?: { name: string; view: LogView; unit: UnitControl | undefined };
}

const pad = (n: number) => String(n).padStart(2, '0');
/** Local time, as duo_watcher printed it (the host's clock, not UTC). */
const hms = (d: Date) => `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
const ymdhms = (d: Date) =>
  `${pad(d.getFullYear() % 100)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms(d)}`;

function logsOf(runner: SourceRunner): Record<string, LogView> | undefined {
  const logs = (runner.status() as { logs?: unknown }).logs;
  return logs && typeof logs === 'object' ? (logs as Record<string, LogView>) : undefined;
}

/**
 * The threads as duo_watcher named them: a Duo source's logs are `auth`, `admin`, `phone` (with
 * the source's name in front when several sources have logs), any other source is one thread.
 */
export function threadsOf(runners: readonly SourceRunner[]): Thread[] {
  const withLogs = runners.filter((r) => logsOf(r));
  const threads: Thread[] = [];
  for (const runner of runners) {
    const logs = logsOf(runner);
    if (!logs) {
      threads.push({ name: runner.source.name, runner });
      continue;
    }
    for (const [log, view] of Object.entries(logs)) {
      const short = DUO_WATCHER_FOLDERS[log as keyof typeof DUO_WATCHER_FOLDERS] ?? log;
      const name = withLogs.length > 1 ? `${runner.source.name}.${short}` : short;
      threads.push({ name, runner, log: { name: log, view, unit: runner.unit(log) } });
    }
  }
  return threads;
}

/** A log's unit in one of these states is not expected to have polled lately. */
const NOT_POLLING: ReadonlySet<string | undefined> = new Set(['starting', 'running', 'paused', 'stopped']);

function isDead(t: Thread, now: number): boolean {
  if (t.runner.state === 'failed') return true;
  const v = t.log?.view;
  if (!v) return false;
  if (v.state === 'failed') return true;
  // A long catch-up poll is busy, and a paused log was told to wait: neither is dead.
  if (!v.last_poll || !v.interval || t.runner.state !== 'running' || NOT_POLLING.has(v.state)) return false;
  return now > Date.parse(v.last_poll) + DEAD_AFTER_INTERVALS * v.interval;
}

/** A log's unit in one of these states is not polling, and says so instead of its last poll. */
const LOG_IDLE: ReadonlySet<string | undefined> = new Set(['paused', 'stopped', 'finished']);

function threadLine(t: Thread): string {
  const active = t.runner.state === 'running' || t.runner.state === 'starting';
  if (!active) return `${t.name}: Idle (${t.runner.state})`;
  if (LOG_IDLE.has(t.log?.view.state)) return `${t.name}: Idle (${t.log!.view.state})`;
  const v = t.log?.view;
  if (!v) {
    const last = t.runner.lastBatchAt ? ` last batch at ${hms(new Date(t.runner.lastBatchAt))}` : '';
    return `${t.name}: Running batches: ${t.runner.batches}${last}`;
  }
  // Errors are not told here: anyone may ask, and the status API on loopback has them.
  if (!v.last_poll) return `${t.name}: ${v.state === 'failed' ? 'Stopped' : 'Starting'}`;
  const upTo = v.checkpoint ? ymdhms(new Date(v.checkpoint)) : 'no checkpoint yet';
  const line = `At ${hms(new Date(v.last_poll))} up to ${upTo} count: ${v.polls ?? 0} interval: ${Math.round((v.interval ?? 0) / 1000)}`;
  return `${t.name}: ${v.state === 'failed' ? `Stopped ${line}` : line}`;
}

/** The status answer: the worst alert and why, a blank line, then one line per thread. */
export function statusAnswer(runners: readonly SourceRunner[], now = Date.now()): string {
  const threads = threadsOf(runners);
  const dead = threads.find((t) => isDead(t, now));
  const head = dead ? `P5Dead thread: ${dead.name}` : 'P0Ready';
  return `${head}\n\n${threads.map((t) => `${threadLine(t)}\n`).join('')}`;
}

const HELP = [
  'P3Help yourself',
  '',
  'Commands are:',
  '  status: Report status (from anywhere)',
  '  clear: Clear status',
  '  rotate: Logfile rotation (logferry logs to stderr: nothing to reopen)',
  '  thread {name} start',
  '  thread {name} stop',
  '  thread {name} interval {seconds} (not supported yet)',
  '  thread {name} maxcount {count} (not supported yet)',
  'Threads are:',
].join('\n');

/** What `thread NAME stop|start` acts on: a Duo log's unit alone, or a whole source. */
function controlOf(t: Thread): { state: string; pause(): void; resume(): void } {
  const unit = t.log?.unit;
  if (t.log && !unit) return { state: 'not started yet', pause() {}, resume() {} };
  if (!unit) {
    const { runner } = t;
    const state = runner.state === 'starting' ? 'running' : runner.state;
    return { state, pause: () => runner.pause(), resume: () => runner.resume() };
  }
  // A unit waiting for its interval or backing off is still running, as far as stop/start go.
  const state = String(unit.status().state);
  const running = ['starting', 'running', 'idle', 'backing-off'].includes(state) ? 'running' : state;
  return { state: running, pause: () => unit.pause(), resume: () => unit.resume() };
}

/** A control command's answer (the caller has checked it comes from loopback). */
export function controlAnswer(msg: string, runners: readonly SourceRunner[], log: Logger): string {
  if (msg === 'newlog' || msg === 'rotate') return 'P0Okay';
  if (msg === 'help')
    return `${HELP}\n${threadsOf(runners)
      .map(
        (t) =>
          `  ${t.name}: ${t.log ? `Duo ${t.log.name} log of source ${t.runner.source.name}` : `source ${t.name}`}`,
      )
      .join('\n')}`;
  const m = /^thread ([\w.-]+) (\w+)(?: (\w+))?\s*$/.exec(msg);
  if (!m) return 'P5Unrecognized command';
  const [, name, command] = m as unknown as [string, string, string];
  const thread = threadsOf(runners).find((t) => t.name === name);
  if (!thread) return 'P5No such thread';
  const target = controlOf(thread);
  switch (command) {
    case 'stop':
    case 'terminate':
      if (target.state !== 'running' && target.state !== 'paused')
        return `P5Thread ${name} is not running (${target.state})`;
      target.pause();
      log.info(
        { source: thread.runner.source.name, unit: thread.log?.name },
        `paused by UDP control: thread ${name} stop`,
      );
      return `P2Thread ${name} terminated`;
    case 'start':
      if (target.state !== 'paused') return `P5Thread ${name} is already active.`;
      target.resume();
      log.info(
        { source: thread.runner.source.name, unit: thread.log?.name },
        `resumed by UDP control: thread ${name} start`,
      );
      return `P2Thread ${name} started`;
    case 'interval':
    case 'maxcount':
      return `P5Thread ${name} ${command} not supported yet`;
    default:
      return `P5Thread ${name} invalid option`;
  }
}

/** One datagram's answer, or undefined for none (empty, or a control from elsewhere). */
export function answer(
  text: string,
  from: string,
  runners: readonly SourceRunner[],
  log: Logger,
): string | undefined {
  const m = /^([0-9 ]*)([\s\S]*)$/.exec(text)!;
  const seq = m[1]!;
  const msg = m[2]!.replace(/[\r\n]+$/, '');
  if (msg.length === 0) return undefined;
  // Our alert is computed from the threads each time, so there is nothing to acknowledge.
  if (msg === 'ack' || msg === 'clear' || msg[0] === 's') return `${seq}${statusAnswer(runners)}`;
  if (!CONTROL_FROM.has(from)) return undefined;
  return `${seq}${controlAnswer(msg, runners, log)}\n`;
}

export async function startDingResponder(
  opts: DingOptions,
  deps: { runners: readonly SourceRunner[]; log: Logger },
): Promise<DingResponder> {
  const socket: Socket = createSocket({ type: opts.host.includes(':') ? 'udp6' : 'udp4' });
  let second = 0;
  let answered = 0;
  socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => {
    if (buf.length > MAX_REQUEST_BYTES) return;
    const now = Math.floor(Date.now() / 1000);
    if (now !== second) {
      second = now;
      answered = 0;
    }
    if (answered >= opts.max_answers_per_second) return;
    const reply = answer(buf.toString('utf8'), rinfo.address, deps.runners, deps.log);
    if (reply === undefined) return;
    answered++;
    socket.send(reply, rinfo.port, rinfo.address, (e) => {
      if (e) deps.log.warn({ to: rinfo.address }, `UDP status answer not sent: ${e.message}`);
    });
  });
  // A bad packet never stops the daemon; a socket error after start is logged and the socket kept.
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(`UDP status port ${opts.host}:${opts.port}: ${e.code ?? e.message}`, { cause: e }),
      ),
    );
    socket.bind(opts.port, opts.host, () => {
      socket.removeAllListeners('error');
      socket.on('error', (e) => deps.log.warn({}, `UDP status socket: ${e.message}`));
      resolve();
    });
  });
  return {
    port: socket.address().port,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
