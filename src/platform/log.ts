import pino, { type DestinationStream } from 'pino';
import type { Logger } from '../core/component.js';
import { redactString, redactStrings } from '../core/redact.js';

/**
 * JSON logs on stderr (stdout belongs to the stdout sink and `decode`). Keys that could hold
 * secrets are censored even if a caller passes them by mistake, and every string (message and
 * fields) goes through `redactString`, so a URL with a password is cut wherever it appears.
 */
export function createLogger(
  level: string = process.env.LOGFERRY_LOG_LEVEL ?? 'info',
  destination: DestinationStream = pino.destination({ fd: 2, sync: true }),
): Logger & { level: string } {
  return pino(
    {
      level,
      base: { app: 'logferry' },
      hooks: {
        logMethod(args, method) {
          const safe = args.map((a) => (typeof a === 'string' ? redactString(a) : a));
          return method.apply(this, safe as Parameters<typeof method>);
        },
      },
      formatters: { log: (obj) => redactStrings(obj) as Record<string, unknown> },
      redact: {
        paths: [
          '*.skey',
          '*.secret',
          '*.secret_key',
          '*.token',
          '*.password',
          '*.authorization',
          '*.webhook_url',
          'skey',
          'secret',
          'token',
          'password',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that keeps entries in memory: for tests and for the CLI's quiet mode. */
export function memoryLogger(): Logger & { entries: { level: string; msg: string; obj: object }[] } {
  const entries: { level: string; msg: string; obj: object }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      entries.push(
        typeof obj === 'string'
          ? { level, msg: redactString(obj), obj: {} }
          : { level, msg: redactString(msg ?? ''), obj: redactStrings(obj) as object },
      );
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
