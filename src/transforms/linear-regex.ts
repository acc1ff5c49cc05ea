import { RE2JS } from 're2js';

/**
 * A regular expression on RE2's linear-time engine, for patterns from config that run on every
 * hostile log line. A small wrapper on purpose: rules are moving to a shared linear-time matcher,
 * and this is the one place to switch over when they land.
 */
export interface LinearRegex {
  /** Named groups, in the pattern's order. */
  readonly groups: readonly string[];
  /** The named groups' text for the first match, or undefined when nothing matches. */
  exec(text: string): Record<string, string> | undefined;
}

/** Compiles with RE2 syntax (`(?P<name>…)` or `(?<name>…)`); throws with RE2's reason on a bad pattern. */
export function compileLinearRegex(pattern: string): LinearRegex {
  const re = RE2JS.compile(pattern);
  const named = re.namedGroups() as Record<string, number>;
  const groups = Object.keys(named).sort((a, b) => named[a]! - named[b]!);
  return {
    groups,
    exec(text) {
      const m = re.matcher(text);
      if (!m.find()) return undefined;
      const out: Record<string, string> = {};
      for (const g of groups) {
        const v = m.group(named[g]!);
        if (v !== null && v !== undefined) out[g] = v;
      }
      return out;
    },
  };
}
