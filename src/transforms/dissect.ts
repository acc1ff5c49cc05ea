/**
 * Dissect patterns (`%{client} - %{} [%{time}] "%{method} %{path}"`): text between keys is
 * literal, each key takes everything up to the next literal. One left-to-right scan with
 * indexOf, so it is linear in the line and cannot backtrack.
 */
export interface Dissect {
  readonly keys: readonly string[];
  exec(text: string): Record<string, string> | undefined;
}

const KEY = /%\{([^}]*)\}/g;

export function compileDissect(pattern: string): Dissect {
  const literals: string[] = [];
  const keys: (string | undefined)[] = [];
  let last = 0;
  for (const m of pattern.matchAll(KEY)) {
    literals.push(pattern.slice(last, m.index));
    const name = m[1]!;
    // `%{}` and `%{?name}` match text that is thrown away.
    keys.push(name === '' || name.startsWith('?') ? undefined : name);
    last = m.index + m[0].length;
  }
  literals.push(pattern.slice(last));
  if (keys.length === 0) throw new Error('a dissect pattern needs at least one %{key}');
  for (let i = 1; i < keys.length; i++)
    if (literals[i] === '')
      throw new Error(
        `two keys with nothing between them (before key ${i + 1}): add the text that separates them`,
      );
  const named = keys.filter((k): k is string => k !== undefined);
  if (new Set(named).size !== named.length) throw new Error('a key is named twice');
  return {
    keys: named,
    exec(text) {
      if (!text.startsWith(literals[0]!)) return undefined;
      let pos = literals[0]!.length;
      const out: Record<string, string> = {};
      for (let i = 0; i < keys.length; i++) {
        const next = literals[i + 1]!;
        let end: number;
        if (i === keys.length - 1 && next === '') end = text.length;
        else if (i === keys.length - 1) {
          end = text.length - next.length;
          if (end < pos || !text.endsWith(next)) return undefined;
        } else {
          end = text.indexOf(next, pos);
          if (end === -1) return undefined;
        }
        const key = keys[i];
        if (key !== undefined) out[key] = text.slice(pos, end);
        pos = end + next.length;
      }
      return out;
    },
  };
}
