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
  return new SearchParser(tokens, query.length).parse();
}

/** Recursive descent over the tokens: OR binds loosest, then AND (or nothing), then NOT / `-`. */
class SearchParser {
  private at = 0;
  private terms = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly end: number,
  ) {}

  parse(): SearchNode {
    const tree = this.parseOr(0);
    const rest = this.peek();
    if (rest)
      throw new SearchSyntaxError(`unexpected ${rest.kind === 'word' ? rest.text : rest.kind}`, rest.pos);
    return tree;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private parseOr(depth: number): SearchNode {
    const items = [this.parseAnd(depth)];
    while (this.peek()?.kind === 'or') {
      this.at++;
      items.push(this.parseAnd(depth));
    }
    return items.length === 1 ? items[0]! : { type: 'or', items };
  }

  private parseAnd(depth: number): SearchNode {
    const items = [this.parseNot(depth)];
    for (;;) {
      const t = this.peek();
      if (!t || t.kind === ')' || t.kind === 'or') break;
      if (t.kind === 'and') this.at++;
      items.push(this.parseNot(depth));
    }
    return items.length === 1 ? items[0]! : { type: 'and', items };
  }

  private parseNot(depth: number): SearchNode {
    const t = this.peek();
    if (t?.kind === 'not' || t?.kind === '-') {
      this.at++;
      return { type: 'not', item: this.parseNot(depth) };
    }
    return this.parsePrimary(depth);
  }

  private parsePrimary(depth: number): SearchNode {
    const t = this.peek();
    if (!t) throw new SearchSyntaxError('expected a term', this.end);
    if (depth > MAX_DEPTH) throw new SearchSyntaxError(`more than ${MAX_DEPTH} nested groups`, t.pos);
    if (++this.terms > MAX_TERMS) throw new SearchSyntaxError(`more than ${MAX_TERMS} terms`, t.pos);
    if (t.kind === '(') return this.parseGroup(depth);
    if (t.kind === 'phrase') {
      this.at++;
      return { type: 'text', value: t.text };
    }
    if (t.kind !== 'word') throw new SearchSyntaxError(`unexpected ${t.kind.toUpperCase()}`, t.pos);
    this.at++;
    if (this.peek()?.kind !== ':') return { type: 'text', value: t.text };
    this.at++;
    return this.parseFieldValue(t.text, t.pos);
  }

  private parseGroup(depth: number): SearchNode {
    this.at++;
    const inner = this.parseOr(depth + 1);
    if (this.peek()?.kind !== ')') throw new SearchSyntaxError('missing )', this.peek()?.pos ?? this.end);
    this.at++;
    return inner;
  }

  private parseFieldValue(field: string, pos: number): SearchNode {
    if (!FIELD_NAME.test(field) || field.length > 128)
      throw new SearchSyntaxError(
        `'${field.slice(0, 40)}' is not a field name (letters, digits, _ @ - and dots)`,
        pos,
      );
    const v = this.peek();
    if (v?.kind === 'phrase') {
      this.at++;
      return { type: 'match', field, value: v.text, wildcard: false };
    }
    if (v?.kind !== 'word') throw new SearchSyntaxError(`a value must follow ${field}:`, v?.pos ?? this.end);
    this.at++;
    const text = v.text;
    if (text === '*') return { type: 'exists', field };
    const range = /^(>=|<=|>|<)(.+)$/.exec(text);
    if (range) return { type: 'range', field, op: range[1] as '>', value: range[2]! };
    if (text.startsWith('[')) return this.parseBetween(field, text, v.pos);
    return { type: 'match', field, value: text, wildcard: text.includes('*') };
  }

  private parseBetween(field: string, first: string, pos: number): SearchNode {
    // `[a TO b]` arrives as the words `[a`, `TO`, `b]`.
    const to = this.tokens[this.at];
    const last = this.tokens[this.at + 1];
    if (
      to?.kind !== 'word' ||
      to.text !== 'TO' ||
      last?.kind !== 'word' ||
      !last.text.endsWith(']') ||
      first.length < 2 ||
      last.text.length < 2
    )
      throw new SearchSyntaxError(`write a range as ${field}:[from TO to]`, pos);
    this.at += 2;
    return { type: 'between', field, from: first.slice(1), to: last.text.slice(0, -1) };
  }
}
