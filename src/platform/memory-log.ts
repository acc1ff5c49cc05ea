import type { Logger } from '../core/component.js';
import { redactString, redactStrings } from '../core/redact.js';

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
