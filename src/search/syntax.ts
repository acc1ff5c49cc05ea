/**
 * The search syntax of the dashboard and `logferry search`, close to Kibana's KQL / Lucene:
 * `field:value`, `field:"a phrase"`, `field:val*`, `field:*`, `field:>500`, `field:[10 TO 20]`,
 * bare words and quoted phrases (anywhere in the document), `AND`, `OR`, `NOT` / `-`, parentheses.
 * Juxtaposed terms mean AND. The result is a tree; sql.ts turns it into parameterized SQL.
 */

export type SearchNode =
  | { type: 'and' | 'or'; items: SearchNode[] }
  | { type: 'not'; item: SearchNode }
  | { type: 'text'; value: string }
  | { type: 'match'; field: string; value: string; wildcard: boolean }
  | { type: 'exists'; field: string }
  | { type: 'range'; field: string; op: '>' | '>=' | '<' | '<='; value: string }
  | { type: 'between'; field: string; from: string; to: string }
  | { type: 'all' };

/** Field names: dotted ECS paths. Nothing else ever reaches the SQL, and only as a parameter. */
export const FIELD_NAME = /^[A-Za-z_@][A-Za-z0-9_@-]*(\.[A-Za-z0-9_@-]+)*$/;
export const MAX_QUERY_CHARS = 2000;
const MAX_TERMS = 64;
const MAX_DEPTH = 16;

export class SearchSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
    options?: { cause?: unknown },
  ) {
    super(`search: ${message} at character ${position + 1}`, options);
    this.name = 'SearchSyntaxError';
  }
}

type Token =
  | { kind: 'word' | 'phrase'; text: string; pos: number }
  | { kind: '(' | ')' | ':' | 'and' | 'or' | 'not' | '-'; pos: number };

const SPECIAL = new Set(['(', ')', ':', '"']);

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ':') {
      out.push({ kind: c, pos: i++ });
    } else if (c === '"') {
      const start = i++;
      let text = '';
      while (i < q.length && q[i] !== '"') {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        text += q[i++];
      }
      if (i >= q.length) throw new SearchSyntaxError('unclosed quote', start);
      i++;
      out.push({ kind: 'phrase', text, pos: start });
    } else if (
      c === '-' &&
      (out.length === 0 || out.at(-1)!.kind !== ':') &&
      /[^\s-]/.test(q[i + 1] ?? ' ')
    ) {
      out.push({ kind: '-', pos: i++ });
    } else {
      const start = i;
      // Brackets of a range stay inside the word; the parser splits `[a TO b]` itself.
      while (i < q.length && !/\s/.test(q[i]!) && !SPECIAL.has(q[i]!)) i++;
      const text = q.slice(start, i);
      const kw = text === 'AND' ? 'and' : text === 'OR' ? 'or' : text === 'NOT' ? 'not' : undefined;
      out.push(kw ? { kind: kw, pos: start } : { kind: 'word', text, pos: start });
    }
  }
  return out;
}

export function parseSearch(query: string): SearchNode {
  if (query.length > MAX_QUERY_CHARS)
    throw new SearchSyntaxError(`query longer than ${MAX_QUERY_CHARS} characters`, MAX_QUERY_CHARS);
  const tokens = tokenize(query);
  if (tokens.length === 0) return { type: 'all' };
  let at = 0;
  let terms = 0;
  const peek = () => tokens[at];
  const end = () => query.length;

  const parseOr = (depth: number): SearchNode => {
    const items = [parseAnd(depth)];
    while (peek()?.kind === 'or') {
      at++;
      items.push(parseAnd(depth));
    }
    return items.length === 1 ? items[0]! : { type: 'or', items };
  };
  const parseAnd = (depth: number): SearchNode => {
    const items = [parseNot(depth)];
    for (;;) {
      const t = peek();
      if (!t || t.kind === ')' || t.kind === 'or') break;
      if (t.kind === 'and') at++;
      items.push(parseNot(depth));
    }
    return items.length === 1 ? items[0]! : { type: 'and', items };
  };
  const parseNot = (depth: number): SearchNode => {
    const t = peek();
    if (t?.kind === 'not' || t?.kind === '-') {
      at++;
      return { type: 'not', item: parseNot(depth) };
    }
    return parsePrimary(depth);
  };
  const parsePrimary = (depth: number): SearchNode => {
    const t = peek();
    if (!t) throw new SearchSyntaxError('expected a term', end());
    if (depth > MAX_DEPTH) throw new SearchSyntaxError(`more than ${MAX_DEPTH} nested groups`, t.pos);
    if (++terms > MAX_TERMS) throw new SearchSyntaxError(`more than ${MAX_TERMS} terms`, t.pos);
    if (t.kind === '(') {
      at++;
      const inner = parseOr(depth + 1);
      if (peek()?.kind !== ')') throw new SearchSyntaxError('missing )', peek()?.pos ?? end());
      at++;
      return inner;
    }
    if (t.kind === 'phrase') {
      at++;
      return { type: 'text', value: t.text };
    }
    if (t.kind !== 'word') throw new SearchSyntaxError(`unexpected ${t.kind.toUpperCase()}`, t.pos);
    at++;
    if (peek()?.kind !== ':') return { type: 'text', value: t.text };
    at++;
    return parseFieldValue(t.text, t.pos);
  };
  const parseFieldValue = (field: string, pos: number): SearchNode => {
    if (!FIELD_NAME.test(field) || field.length > 128)
      throw new SearchSyntaxError(
        `'${field.slice(0, 40)}' is not a field name (letters, digits, _ @ - and dots)`,
        pos,
      );
    const v = peek();
    if (v?.kind === 'phrase') {
      at++;
      return { type: 'match', field, value: v.text, wildcard: false };
    }
    if (v?.kind !== 'word') throw new SearchSyntaxError(`a value must follow ${field}:`, v?.pos ?? end());
    at++;
    const text = v.text;
    if (text === '*') return { type: 'exists', field };
    const range = /^(>=|<=|>|<)(.+)$/.exec(text);
    if (range) return { type: 'range', field, op: range[1] as '>', value: range[2]! };
    if (text.startsWith('[')) return parseBetween(field, text, v.pos);
    return { type: 'match', field, value: text, wildcard: text.includes('*') };
  };
  const parseBetween = (field: string, first: string, pos: number): SearchNode => {
    // `[a TO b]` arrives as the words `[a`, `TO`, `b]`.
    const to = tokens[at];
    const last = tokens[at + 1];
    if (
      to?.kind !== 'word' ||
      to.text !== 'TO' ||
      last?.kind !== 'word' ||
      !last.text.endsWith(']') ||
      first.length < 2 ||
      last.text.length < 2
    )
      throw new SearchSyntaxError(`write a range as ${field}:[from TO to]`, pos);
    at += 2;
    return { type: 'between', field, from: first.slice(1), to: last.text.slice(0, -1) };
  };

  const tree = parseOr(0);
  const rest = peek();
  if (rest)
    throw new SearchSyntaxError(`unexpected ${rest.kind === 'word' ? rest.text : rest.kind}`, rest.pos);
  return tree;
}
