import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Loads a real-shaped AWS event from test/events/<source>/<case>.json (deep copy each time). */
export function loadEvent<T = Record<string, unknown>>(source: string, name: string): T {
  return JSON.parse(readFileSync(join(import.meta.dirname, source, `${name}.json`), 'utf8')) as T;
}
