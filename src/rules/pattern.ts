import { RE2JS } from 're2js';
import { ConfigError } from '../core/errors.js';

/**
 * Text patterns that run in time linear in the text, whatever the pattern: a hostile log line
 * must not stall the daemon or time out a Lambda on every retry. V8's backtracking engine takes
 * exponential time on `(a|aa)+$`, and no shape heuristic catches every such pattern, so:
 * - regexes that are plain text (`foo`, `^foo`, `foo$`, `^foo$`) become string operations, and so
 *   do case-sensitive ones that spell a few texts (`^(terraform|pulumi)/1\.`);
 * - every other regex runs on re2js (RE2's automata in JavaScript), after an `includes`
 *   pre-check on a literal (or one of a few) the match cannot do without, which skips the
 *   engine on most text;
 * - Sigma wildcards (`*`, `?`) run on a matcher that places each literal segment once.
 */

export type TextTest = (text: string) => boolean;

/** A regex the linear engine cannot run (backreferences, lookaround) or that does not parse. */
export class RegexError extends ConfigError {}

const MAX_PATTERN = 1000;

export interface RegexVerdict {
  ok: boolean;
  reason?: string;
}

/** The load-time check: the same compilation the matcher uses, so what passes can run. */
export function checkRegex(pattern: string): RegexVerdict {
  try {
    compileRegex(pattern);
    return { ok: true };
  } catch (e) {
    if (e instanceof RegexError) return { ok: false, reason: e.message };
    throw e;
  }
}

export function compileRegex(pattern: string, ignoreCase = false): TextTest {
  if (pattern.length > MAX_PATTERN) throw new RegexError(`regex is longer than ${MAX_PATTERN} characters`);
  const literal = literalRegex(pattern);
  if (literal && !ignoreCase) return literalTest(literal);
  const re = compileRe2(pattern, RE2JS.translateRegExp, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  // Case-insensitive patterns keep RE2's own case folding (`ſ` is an `s` there, `İ` is no `i`),
  // which toLowerCase agrees with only on ASCII: the string fast path takes ASCII text alone.
  if (ignoreCase && literal && isAscii(literal.text)) {
    const fast = literalTest({ ...literal, text: literal.text.toLowerCase() }, (s) => s.toLowerCase());
    return (s) => (NON_ASCII.test(s) ? re.test(s) : fast(s));
  }
  if (ignoreCase) return (s) => re.test(s);
  const spelled = alternativesRegex(pattern);
  if (spelled) return alternativesTest(spelled);
  const needle = requiredLiteral(pattern);
  const oneOf = requiredAlternatives(pattern);
  if (oneOf?.texts.every((t) => t.length > Math.max(needle.length, 1))) {
    const texts = oneOf.texts;
    return oneOf.start
      ? (s) => texts.some((t) => s.startsWith(t)) && re.test(s)
      : (s) => texts.some((t) => s.includes(t)) && re.test(s);
  }
  if (needle.length >= 2) return (s) => s.includes(needle) && re.test(s);
  return (s) => re.test(s);
}

/** RE2 compilation with the refusals every caller shares: constructs RE2 cannot run, syntax errors. */
function compileRe2(pattern: string, translate: (p: string) => string, flags: number): RE2JS {
  const unsupported = unsupportedConstruct(pattern);
  if (unsupported)
    throw new RegexError(
      `regex '${shorten(pattern)}' uses ${unsupported}, which the linear-time engine cannot run; rewrite it without`,
    );
  try {
    return RE2JS.compile(translate(pattern), flags);
  } catch (e) {
    const why = (e as Error).message.replace(/^error parsing regexp: /, '');
    throw new RegexError(`invalid regex '${shorten(pattern)}': ${why}`, { cause: e });
  }
}

/** A regex whose named groups are read out (the `parse` transform), on the same linear-time engine. */
export interface CapturingRegex {
  /** Named groups, in the pattern's order. */
  readonly groups: readonly string[];
  /** The named groups' text for the first match, or undefined when nothing matches. */
  exec(text: string): Record<string, string> | undefined;
}

/** RE2 syntax, named groups as `(?P<name>…)` or `(?<name>…)`; throws RegexError with RE2's reason. */
export function compileCapturing(pattern: string): CapturingRegex {
  if (pattern.length > MAX_PATTERN) throw new RegexError(`regex is longer than ${MAX_PATTERN} characters`);
  const re = compileRe2(pattern, (p) => p, 0);
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

function shorten(p: string): string {
  return p.length > 60 ? `${p.slice(0, 60)}…` : p;
}

interface Literal {
  text: string;
  start: boolean;
  end: boolean;
}

const META = new Set([...'\\^$.|?*+()[]{}']);

/** `foo`, `^foo`, `foo$`, `^foo$` with `\.`-style escapes: a regex that is only text. */
function literalRegex(p: string): Literal | undefined {
  const start = p.startsWith('^');
  const end = p.endsWith('$') && !p.endsWith('\\$');
  let text = '';
  for (let i = start ? 1 : 0; i < p.length - (end ? 1 : 0); i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined || /[A-Za-z0-9]/.test(n)) return undefined;
      text += n;
      i++;
    } else if (META.has(c)) return undefined;
    else text += c;
  }
  return { text, start, end };
}

const NON_ASCII = /[^\x00-\x7f]/;

function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

function literalTest({ text: t, start, end }: Literal, norm = (s: string) => s): TextTest {
  if (start && end) return (s) => norm(s) === t;
  if (start) return (s) => norm(s).startsWith(t);
  if (end) return (s) => norm(s).endsWith(t);
  return (s) => norm(s).includes(t);
}

/** More texts than this and a regex stays on the engine. */
const MAX_TEXTS = 64;

/** A regex that spells a few texts (literals and groups of literal alternatives), maybe anchored. */
interface Alternatives {
  texts: string[];
  start: boolean;
  end: boolean;
}

function alternativesRegex(p: string): Alternatives | undefined {
  const start = p.startsWith('^');
  const end = p.endsWith('$') && !p.endsWith('\\$');
  const to = p.length - (end ? 1 : 0);
  const { parts, stop } = literalParts(p, start ? 1 : 0, to);
  if (stop !== to) return undefined;
  const texts = spell(parts);
  return texts && { texts, start, end };
}

function alternativesTest({ texts, start, end }: Alternatives): TextTest {
  if (start && end) {
    const set = new Set(texts);
    return (s) => set.has(s);
  }
  if (start) return (s) => texts.some((t) => s.startsWith(t));
  if (end) return (s) => texts.some((t) => s.endsWith(t));
  return (s) => texts.some((t) => s.includes(t));
}

/**
 * Texts one of which every match contains (at its start when anchored): the literals and
 * literal-alternative groups the regex begins with, up to its first other construct.
 */
function requiredAlternatives(p: string): { texts: string[]; start: boolean } | undefined {
  if (hasTopLevelBar(p) || /\(\?[a-zA-Z-]/.test(p.replace(/\(\?P?</g, ''))) return undefined;
  const start = p.startsWith('^');
  const { parts, stop } = literalParts(p, start ? 1 : 0, p.length);
  // A quantifier makes the part before it optional or repeated: only what precedes is required.
  if (stop < p.length && '*+?{'.includes(p[stop]!)) parts.pop();
  const texts = parts.length > 0 ? spell(parts) : undefined;
  return texts && { texts, start };
}

/** Literal characters and `(a|b)` / `(?:a|b)` groups from `from`, each as its alternatives. */
function literalParts(p: string, from: number, to: number): { parts: string[][]; stop: number } {
  const parts: string[][] = [];
  let i = from;
  while (i < to) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined || i + 1 >= to || /[A-Za-z0-9]/.test(n)) break;
      parts.push([n]);
      i += 2;
    } else if (c === '(') {
      const group = literalGroup(p, i, to);
      if (!group) break;
      parts.push(group.alternatives);
      i = group.close + 1;
    } else if (META.has(c)) break;
    else {
      parts.push([c]);
      i++;
    }
  }
  return { parts, stop: i };
}

function literalGroup(
  p: string,
  open: number,
  to: number,
): { alternatives: string[]; close: number } | undefined {
  let j = open + 1;
  if (p.startsWith('?:', j)) j += 2;
  const alternatives: string[] = [];
  let text = '';
  for (; j < to; j++) {
    const c = p[j]!;
    if (c === ')') {
      alternatives.push(text);
      return { alternatives, close: j };
    }
    if (c === '|') {
      alternatives.push(text);
      text = '';
    } else if (c === '\\') {
      const n = p[j + 1];
      if (n === undefined || /[A-Za-z0-9]/.test(n)) return undefined;
      text += n;
      j++;
    } else if (META.has(c)) return undefined;
    else text += c;
  }
  return undefined;
}

/** Every text the parts spell, or undefined past MAX_TEXTS. */
function spell(parts: string[][]): string[] | undefined {
  let texts = [''];
  for (const alternatives of parts) {
    if (texts.length * alternatives.length > MAX_TEXTS) return undefined;
    texts = texts.flatMap((t) => alternatives.map((a) => t + a));
  }
  return [...new Set(texts)];
}

/** A `|` outside any group or class: the regex is an alternation as a whole. */
function hasTopLevelBar(p: string): boolean {
  let depth = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') i++;
    else if (c === '[') i = classEnd(p, i);
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** Backreferences and lookaround, found outside character classes. */
function unsupportedConstruct(p: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1] ?? '';
      if (!inClass && (/[1-9]/.test(n) || (n === 'k' && p[i + 2] === '<')))
        return `a backreference (\\${n}${n === 'k' ? '<…>' : ''})`;
      i++;
    } else if (inClass) inClass = c !== ']';
    else if (c === '[') {
      inClass = true;
      if (p[i + 1] === '^') i++;
      if (p[i + 1] === ']') i++;
    } else if (c === '(' && p[i + 1] === '?') {
      const look = /^\(\?(=|!|<=|<!)/.exec(p.slice(i));
      if (look) return `lookaround (${look[0]})`;
    }
  }
  return undefined;
}

/**
 * The longest run of literal text every match contains (top level, not optional), or '' when
 * unsure: inline flags, top-level alternation and escapes with arguments all give up.
 */
export function requiredLiteral(p: string): string {
  if (/\(\?[a-zA-Z-]/.test(p.replace(/\(\?P?</g, ''))) return '';
  let best = '';
  let run = '';
  let poisoned = false;
  let depth = 0;
  const flush = () => {
    if (!poisoned && run.length > best.length) best = run;
    run = '';
    poisoned = false;
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1] ?? '';
      i++;
      if (depth > 0) continue;
      if (/[A-Za-z0-9]/.test(n)) {
        flush();
        // \x41, \u0041, \p{L}, \cA: what follows is the escape's argument, not text.
        poisoned = /[xupPck0-9]/.test(n);
        continue;
      }
      run += n;
    } else if (c === '[') {
      i = classEnd(p, i);
      if (depth === 0) flush();
    } else if (c === '(') {
      depth++;
      flush();
    } else if (c === ')') {
      depth--;
    } else if (depth > 0) {
    } else if (c === '|') return '';
    else if (c === '*' || c === '?') {
      run = run.slice(0, -1);
      flush();
    } else if (c === '{') {
      const q = /^\{(\d*)(,\d*)?\}/.exec(p.slice(i));
      if (q && (q[1] === '' || Number(q[1]) === 0)) run = run.slice(0, -1);
      flush();
      if (q) i += q[0].length - 1;
    } else if (META.has(c)) flush();
    else run += c;
  }
  flush();
  return best;
}

function classEnd(p: string, i: number): number {
  let j = i + 1;
  if (p[j] === '^') j++;
  if (p[j] === ']') j++;
  while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
  return j;
}

/** Sigma wildcards: `*` any run, `?` one character, `\*` `\?` `\\` literal. */
export function hasWildcard(s: string): boolean {
  return /(^|[^\\])(\\\\)*[*?]/.test(s);
}

/** A value without wildcards, its `\*` `\?` `\\` escapes undone. */
export function unescapeValue(v: string): string {
  return v.includes('\\') ? v.replace(/\\([*?\\])/g, '$1') : v;
}

/** A run of text between stars; `any` marks the positions of `?`. */
interface Segment {
  text: string;
  any: boolean[] | undefined;
}

/**
 * A whole-text wildcard match in O(text × pattern): the first and last segments are pinned to
 * the ends, each middle one is placed at its leftmost fit, and nothing is ever tried twice.
 */
export function compileGlob(glob: string, ignoreCase: boolean): TextTest {
  const segs = globSegments(ignoreCase ? glob.toLowerCase() : glob);
  const norm = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (segs.length === 1) {
    const only = segs[0]!;
    return (raw) => {
      const s = norm(raw);
      return s.length === only.text.length && segmentAt(s, 0, only);
    };
  }
  const first = segs[0]!;
  const last = segs[segs.length - 1]!;
  const middle = segs.slice(1, -1).filter((m) => m.text.length > 0);
  return (raw) => {
    const s = norm(raw);
    const end = s.length - last.text.length;
    if (end < first.text.length || !segmentAt(s, 0, first) || !segmentAt(s, end, last)) return false;
    let pos = first.text.length;
    for (const m of middle) {
      const at = findSegment(s, m, pos, end);
      if (at < 0) return false;
      pos = at + m.text.length;
    }
    return true;
  };
}

function globSegments(glob: string): Segment[] {
  const segs: Segment[] = [];
  let text = '';
  let any: boolean[] = [];
  const push = () => {
    segs.push({ text, any: any.includes(true) ? any : undefined });
    text = '';
    any = [];
  };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length && '*?\\'.includes(glob[i + 1]!)) {
      text += glob[++i];
      any.push(false);
    } else if (c === '*') push();
    else {
      text += c;
      any.push(c === '?');
    }
  }
  push();
  return segs;
}

function segmentAt(s: string, at: number, seg: Segment): boolean {
  if (!seg.any) return s.startsWith(seg.text, at);
  if (at + seg.text.length > s.length) return false;
  for (let k = 0; k < seg.text.length; k++)
    if (!seg.any[k] && s.charCodeAt(at + k) !== seg.text.charCodeAt(k)) return false;
  return true;
}

/** Leftmost position in [from, end - length] where the segment fits, or -1. */
function findSegment(s: string, seg: Segment, from: number, end: number): number {
  const limit = end - seg.text.length;
  if (!seg.any) {
    const at = s.indexOf(seg.text, from);
    return at >= 0 && at <= limit ? at : -1;
  }
  for (let at = from; at <= limit; at++) if (segmentAt(s, at, seg)) return at;
  return -1;
}
