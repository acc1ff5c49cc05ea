import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ControlError, type ControlRefusal } from '../../../core/errors.js';
import {
  auditRefusal,
  type Command,
  type CommandContext,
  MAX_COMMAND_CHARS,
  parseCommand,
  runCommand,
  splitCommand,
} from '../commands.js';
import { BadRequest, readJson } from './search.js';

/** A command is short: anything larger is not one, and is refused before it is parsed. */
const MAX_CONTROL_BODY_BYTES = 4096;

const word = z.string().regex(/^\S{1,512}$/, 'each of args is one word');
/** `{"command": "thread auth interval 30s"}` or `{"command": "thread", "args": ["auth", "interval", "30s"]}`. */
const controlBody = z
  .object({ command: z.string().max(MAX_COMMAND_CHARS), args: z.array(word).max(4).optional() })
  .strict();

const HTTP_STATUS: Record<ControlRefusal, number> = {
  invalid: 400,
  unknown: 404,
  conflict: 409,
  unsupported: 501,
};

export interface ControlResponse {
  status: number;
  body: Record<string, unknown>;
}

/**
 * `POST /control`: the command set over HTTP. The status server has already checked Host, Origin
 * and the token; this reads the body, runs the command and maps a refusal to its HTTP status.
 */
export async function handleControl(
  req: IncomingMessage,
  ctx: Omit<CommandContext, 'transport'>,
): Promise<ControlResponse> {
  const full: CommandContext = { ...ctx, transport: 'http' };
  let command: Command | undefined;
  try {
    const body = await readJson(req, controlBody, MAX_CONTROL_BODY_BYTES);
    const words = body.args ? [...splitCommand(body.command), ...body.args] : splitCommand(body.command);
    command = parseCommand(words);
    const a = await runCommand(command, full);
    return { status: 200, body: { ok: a.level !== 5, level: a.level, message: a.text, ...a.data } };
  } catch (e) {
    if (e instanceof BadRequest) {
      full.log.warn(
        { transport: 'http', remote: full.peer },
        `control: a command by ${full.peer} over http refused: ${e.message}`,
      );
      return {
        status: /content-type/.test(e.message) ? 415 : /over \d+ bytes/.test(e.message) ? 413 : 400,
        body: { error: e.message },
      };
    }
    if (!(e instanceof ControlError)) throw e;
    auditRefusal(e, full, command);
    return { status: HTTP_STATUS[e.refusal], body: { error: e.message } };
  }
}
