import type { RawItem } from '../../core/batch.js';
import type { ParseContext, Parser } from '../../core/component.js';
import { ConfigError, jsonErrorReason, ParseError } from '../../core/errors.js';
import type { EventDraft } from '../../core/event.js';
import { contentHash } from '../../core/ids.js';
import { safeNameComponent } from '../../core/names.js';
import { itemLines } from '../../formats/lines.js';
import { jsonLineDraft } from './draft.js';

/** One event per JSON line; a bad line is set aside on its own and the rest go on. */
export class JsonLinesParser implements Parser {
  readonly name = 'json_lines';
  constructor(private readonly dataset = 'generic.json') {}

  async *parse(item: RawItem, ctx: ParseContext): AsyncIterable<EventDraft> {
    for await (const line of itemLines(item, ctx)) {
      if (line.text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line.text);
      } catch (e) {
        await ctx.reject(
          { ref: `line ${line.no}`, data: line.text },
          new ParseError(`line ${line.no} is not JSON (${jsonErrorReason(e)})`),
        );
        continue;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        await ctx.reject(
          { ref: `line ${line.no}`, data: line.text },
          new ParseError(`line ${line.no} is not a JSON object`),
        );
        continue;
      }
      let draft: EventDraft;
      try {
        draft = jsonLineDraft(
          value as Record<string, unknown>,
          this.dataset,
          [item.origin.ref, line.no, contentHash(line.text)],
          ctx.trustEventFields,
        );
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        await ctx.reject({ ref: `line ${line.no}`, data: line.text }, e);
        continue;
      }
      yield draft;
    }
  }
}

/** The configured dataset names folders, keys and indexes: it must already be a plain name. */
export function create(opts: { dataset?: string } = {}): Parser {
  const d = opts.dataset;
  if (d !== undefined && (typeof d !== 'string' || !isPlainName(d)))
    throw new ConfigError(
      `parser_options.dataset ${JSON.stringify(d)} is not a dataset name (letters, digits, . _ -; not . or ..)`,
    );
  return new JsonLinesParser(d);
}

function isPlainName(d: string): boolean {
  try {
    return safeNameComponent(d, 'dataset') === d;
  } catch {
    return false;
  }
}
