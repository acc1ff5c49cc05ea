import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../../core/component.js';
import { ConfigError, ControlError, describeError } from '../../core/errors.js';
import {
  auditRefusal,
  type Command,
  type CommandContext,
  parseCommand,
  runCommand,
  splitCommand,
} from './commands.js';
import type { SourceRunner } from './supervisor.js';
import { statusAnswer } from './threads.js';

/**
 * The UDP "ding" responder of duo_watcher's Argus daemon, so the log host's monitoring keeps
 * asking a running collector how it is. Status is answered to anyone; controls (the command set
 * of commands.ts) only to the loopback addresses local tools send from. A request is
 * `[seq]command`; every answer starts with the request's seq, then `P<alert level>`.
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

const MAX_REQUEST_BYTES = 1024;
const CONTROL_FROM = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export { statusAnswer } from './threads.js';

export interface DingDeps {
  runners: readonly SourceRunner[];
  log: Logger;
  /** Reopens output files (the `rotate` command); see daemon.ts. */
  rotate(): Promise<string[]>;
}

/**
 * One datagram's answer, or undefined for none (empty, or a control from elsewhere). Status is
 * answered to anyone; `clear` from elsewhere is answered with the status and clears nothing, as
 * monitoring that acknowledged duo_watcher's alerts sent it.
 */
export async function answer(text: string, from: string, deps: DingDeps): Promise<string | undefined> {
  const m = /^([0-9 ]*)([\s\S]*)$/.exec(text)!;
  const seq = m[1]!;
  const msg = m[2]!.replace(/[\r\n]+$/, '');
  if (msg.length === 0) return undefined;
  const local = CONTROL_FROM.has(from);
  if (msg === 'clear' && local) await control('clear', from, deps);
  if (msg === 'ack' || msg === 'clear' || msg[0] === 's') return `${seq}${statusAnswer(deps.runners)}`;
  if (!local) return undefined;
  return `${seq}${await control(msg === 'newlog' ? 'rotate' : msg, from, deps)}\n`;
}

/** A control command from loopback, through the command layer every transport shares. */
async function control(msg: string, from: string, deps: DingDeps): Promise<string> {
  const ctx: CommandContext = { ...deps, transport: 'udp', peer: from };
  let command: Command | undefined;
  try {
    command = parseCommand(splitCommand(msg), { bareSeconds: true });
    const a = await runCommand(command, ctx);
    return `P${a.level}${a.text}`;
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    auditRefusal(e, ctx, command);
    return `P5${e.message}`;
  }
}

export async function startDingResponder(opts: DingOptions, deps: DingDeps): Promise<DingResponder> {
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
    // Counted before the answer is ready, so a burst cannot slip past the cap while one is awaited.
    answered++;
    answer(buf.toString('utf8'), rinfo.address, deps)
      .then((reply) => {
        if (reply === undefined) return;
        socket.send(reply, rinfo.port, rinfo.address, (e) => {
          if (e) deps.log.warn({ to: rinfo.address }, `UDP status answer not sent: ${e.message}`);
        });
      })
      .catch((e: unknown) =>
        deps.log.error({ to: rinfo.address }, `UDP command failed: ${describeError(e)}`),
      );
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
