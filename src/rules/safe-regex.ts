/**
 * A load-time check against regular expressions that can backtrack catastrophically on a
 * hostile log line (ReDoS). V8's engine backtracks, so `(a+)+$` on "aaaa…b" takes exponential
 * time. We reject the shapes that cause it: a repeated group that itself contains a repetition
 * (star height > 1, e.g. `(a+)+`, `(.*,)*`, `(\w+\s?){2,}`), a repeated group whose alternatives
 * overlap trivially (`(a|a)*`, `(\w|\d)+`), and backreferences under repetition. It is
 * conservative: a few harmless patterns are refused too, and the message says how to rewrite.
 */

export interface RegexVerdict {
  ok: boolean;
  reason?: string;
}

interface Group {
  hasRepeat: boolean;
  alternatives: string[];
  current: string;
  hasBackref: boolean;
}

const MAX_PATTERN = 1000;

export function checkRegex(pattern: string): RegexVerdict {
  if (pattern.length > MAX_PATTERN)
    return { ok: false, reason: `pattern is longer than ${MAX_PATTERN} characters` };
  try {
    new RegExp(pattern);
  } catch (e) {
    return {
      ok: false,
      reason: `invalid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`,
    };
  }
  const stack: Group[] = [{ hasRepeat: false, alternatives: [], current: '', hasBackref: false }];
  let i = 0;
  // What the last atom was, so a following quantifier knows what it repeats.
  let last: { kind: 'atom' } | { kind: 'group'; group: Group } | undefined;
  const top = () => stack[stack.length - 1]!;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<')) top().hasBackref = true;
      top().current += pattern.slice(i, i + 2);
      i += 2;
      last = { kind: 'atom' };
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      top().current += pattern.slice(i, j + 1);
      i = j + 1;
      last = { kind: 'atom' };
      continue;
    }
    if (c === '(') {
      // Skip group modifiers: (?: (?= (?! (?<= (?<! (?<name>
      let j = i + 1;
      if (pattern[j] === '?') {
        j++;
        if (pattern[j] === '<' && pattern[j + 1] !== '=' && pattern[j + 1] !== '!') {
          while (j < pattern.length && pattern[j] !== '>') j++;
          j++;
        } else j += pattern[j] === '<' ? 2 : 1;
      }
      stack.push({ hasRepeat: false, alternatives: [], current: '', hasBackref: false });
      i = j;
      last = undefined;
      continue;
    }
    if (c === ')') {
      const g = stack.pop()!;
      g.alternatives.push(g.current);
      const parent = top();
      parent.hasRepeat ||= g.hasRepeat;
      parent.hasBackref ||= g.hasBackref;
      parent.current += `(${g.alternatives.join('|')})`;
      i++;
      last = { kind: 'group', group: g };
      continue;
    }
    if (c === '|') {
      top().alternatives.push(top().current);
      top().current = '';
      i++;
      last = undefined;
      continue;
    }
    const q = quantifierAt(pattern, i);
    if (q) {
      if (q.repeats) {
        top().hasRepeat = true;
        if (last?.kind === 'group') {
          const g = last.group;
          if (g.hasRepeat)
            return refuse(pattern, 'a repeated group contains a repetition (nested quantifier)');
          if (overlapping(g.alternatives))
            return refuse(pattern, 'a repeated group has alternatives that match the same text');
          if (g.hasBackref) return refuse(pattern, 'a backreference is repeated');
        }
      }
      top().current += pattern.slice(i, i + q.length);
      i += q.length;
      if (pattern[i] === '?' || pattern[i] === '+') i++;
      last = undefined;
      continue;
    }
    top().current += c;
    i++;
    last = { kind: 'atom' };
  }
  return { ok: true };
}

function refuse(pattern: string, why: string): RegexVerdict {
  return {
    ok: false,
    reason: `regex '${pattern.length > 60 ? `${pattern.slice(0, 60)}…` : pattern}' can backtrack catastrophically: ${why}; rewrite it without nesting (e.g. (a+)+ → a+)`,
  };
}

/** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` at i; `repeats` when it can match more than once. */
function quantifierAt(p: string, i: number): { length: number; repeats: boolean } | undefined {
  const c = p[i];
  if (c === '*' || c === '+') return { length: 1, repeats: true };
  if (c === '?') return { length: 1, repeats: false };
  if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
    if (!m) return undefined;
    const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
    return { length: m[0].length, repeats: max > 1 };
  }
  return undefined;
}

/** Alternatives that are equal, or where one is a broad class that covers another's start. */
function overlapping(alts: string[]): boolean {
  if (alts.length < 2) return false;
  const seen = new Set<string>();
  for (const a of alts) {
    if (seen.has(a)) return true;
    seen.add(a);
  }
  const broad: string[] = alts.filter((a) => a === '.' || a === '\\w' || a === '\\S' || a === '[\\s\\S]');
  return broad.length > 0 && alts.some((a) => !broad.includes(a) && a.length > 0);
}
