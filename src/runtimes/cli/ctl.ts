import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { describeError, oneLine } from '../../core/errors.js';
import { EXIT } from './exit.js';

/** How long `ctl` waits for the daemon: a command is answered at once or not at all. */
const ANSWER_TIMEOUT_MS = 10_000;
const MAX_TOKEN_FILE_BYTES = 4096;

/** What `logferry ctl` could not do: no daemon, a refused command, a bad flag. */
export class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CtlError';
  }
}

/** The status API's base URL: http(s), a host and port, nothing else (no credentials, no path). */
const statusUrl = z
  .string()
  .url()
  .transform((s) => new URL(s))
  .refine(
    (u) =>
      (u.protocol === 'http:' || u.protocol === 'https:') &&
      !u.username &&
      !u.password &&
      (u.pathname === '/' || u.pathname === '') &&
      !u.search &&
      !u.hash,
    'write the status API as http://HOST:PORT (no path, no credentials)',
  );

export function parseStatusUrl(value: string): URL {
  const r = statusUrl.safeParse(value);
  if (!r.success) throw new CtlError(`--status: ${r.error.issues[0]?.message ?? 'not a URL'}`, EXIT.usage);
  return r.data;
}

/** The token from a file (first line) or $LOGFERRY_STATUS_TOKEN; never from the command line, where `ps` shows it. */
export async function readToken(file: string | undefined, env = process.env): Promise<string | undefined> {
  if (file === undefined) return env.LOGFERRY_STATUS_TOKEN || undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CtlError(
      `--token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot be read'}`,
      EXIT.usage,
      {
        cause: e,
      },
    );
  }
  const token = text.split('\n')[0]!.trim();
  if (text.length > MAX_TOKEN_FILE_BYTES || !/^\S+$/.test(token))
    throw new CtlError(`--token-file ${file}: the first line must be the token alone`, EXIT.usage);
  return token;
}

interface ControlAnswer {
  message?: string;
  error?: string;
}

/** Sends one command to `POST /control` and returns the answer; throws CtlError with the server's one line. */
export async function sendCommand(
  base: URL,
  words: string[],
  token: string | undefined,
): Promise<ControlAnswer> {
  const body = words.length === 1 ? { command: words[0] } : { command: words[0], args: words.slice(1) };
  let res: Response;
  try {
    res = await fetch(new URL('/control', base), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new CtlError(`no daemon answers at ${base.origin} (${code})`, EXIT.failure, { cause: e });
  }
  const answer = (await res.json().catch(() => ({}))) as ControlAnswer;
  if (!res.ok) {
    const why = typeof answer.error === 'string' ? oneLine(answer.error, 300) : `HTTP ${res.status}`;
    throw new CtlError(`daemon at ${base.origin}: ${why}`, res.status < 500 ? EXIT.usage : EXIT.failure);
  }
  return answer;
}

export function registerCtl(program: Command): void {
  program
    .command('ctl')
    .description(
      'send a command to a running daemon: status, help, clear, rotate, thread NAME start|stop|interval D|maxcount N, checkpoint NAME show|set VALUE',
    )
    .argument('<command...>', 'the command and its words, e.g. thread auth interval 30s')
    .option('--status <url>', 'the status API of the daemon', 'http://127.0.0.1:8686')
    .option('--token-file <file>', 'file holding the status API token (default: $LOGFERRY_STATUS_TOKEN)')
    .option('--json', 'print the whole answer as JSON')
    .action(async (words: string[], o: { status: string; tokenFile?: string; json?: boolean }) => {
      try {
        const base = parseStatusUrl(o.status);
        const answer = await sendCommand(base, words, await readToken(o.tokenFile));
        process.stdout.write(o.json ? `${JSON.stringify(answer, null, 2)}\n` : `${answer.message ?? ''}\n`);
      } catch (e) {
        process.stderr.write(`logferry ctl: ${e instanceof CtlError ? e.message : describeError(e)}\n`);
        process.exit(e instanceof CtlError ? e.exitCode : EXIT.failure);
      }
    });
}
