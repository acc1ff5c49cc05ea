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

// Kept apart so what only needs it (decode) starts without loading pino.
export { memoryLogger } from './memory-log.js';
