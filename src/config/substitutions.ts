/**
 * Which config values came from `${VAR}` substitution, by path, with the text as written. The
 * redacted view (status API) prints that text instead of the value: a variable may hold a secret
 * under a key that does not look secret (`parser_options.url`), and the reference is what an
 * operator wants to see anyway.
 */
const written = new WeakMap<object, ReadonlyMap<string, string>>();

export type ConfigPath = readonly (string | number)[];

export function pathKey(path: ConfigPath): string {
  return JSON.stringify(path);
}

/** Every string leaf of the document as written that holds a `${...}` reference. */
export function collectReferences(tree: unknown, hasReference: (s: string) => boolean): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (value: unknown, path: (string | number)[], depth: number): void => {
    if (typeof value === 'string') {
      if (hasReference(value)) found.set(pathKey(path), value);
      return;
    }
    if (depth > 50 || value === null || typeof value !== 'object') return;
    const entries = Array.isArray(value) ? value.entries() : Object.entries(value);
    for (const [k, v] of entries) walk(v, [...path, k], depth + 1);
  };
  walk(tree, [], 0);
  return found;
}

export function rememberReferences(config: object, references: ReadonlyMap<string, string>): void {
  if (references.size > 0) written.set(config, references);
}

export function referencesOf(config: object): ReadonlyMap<string, string> | undefined {
  return written.get(config);
}
