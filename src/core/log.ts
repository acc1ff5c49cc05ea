import pino from 'pino';
import type { Logger } from './component.js';

/**
 * JSON logs on stderr (stdout belongs to the stdout sink and `decode`). Keys that could hold
 * secrets are censored even if a caller passes them by mistake.
 */
export function createLogger(
  level: string = process.env.LOGFERRY_LOG_LEVEL ?? 'info',
): Logger & { level: string } {
  return pino(
    {
      level,
      base: { app: 'logferry' },
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
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that keeps entries in memory: for tests and for the CLI's quiet mode. */
export function memoryLogger(): Logger & { entries: { level: string; msg: string; obj: object }[] } {
  const entries: { level: string; msg: string; obj: object }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      entries.push(typeof obj === 'string' ? { level, msg: obj, obj: {} } : { level, msg: msg ?? '', obj });
    };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
