import { isIP } from 'node:net';
import { z } from 'zod';
import type { LogEvent } from '../core/event.js';
import { getField, setField } from '../core/fields.js';
import { compileCapturing } from '../rules/pattern.js';
import { compileDissect } from './dissect.js';

const FIELD_PATH = /^[@A-Za-z_][\w@.-]*$/;
const MAX_PATTERN = 2000;
/** Longer values are not parsed: no log line worth parsing is this long, and it bounds the work. */
const MAX_INPUT = 64 * 1024;
/** Added to `tags` when a captured value does not convert to its type (the field is then left out). */
export const TYPE_MISMATCH_TAG = 'parse_type_mismatch';

const target = z
  .object({
    field: z.string().regex(FIELD_PATH, 'write a dotted field path, like http.response.bytes'),
    type: z.enum(['string', 'int', 'float', 'ip', 'timestamp']).default('string'),
    /** Multiplies a number, e.g. 1000000 to write milliseconds into ECS event.duration (nanoseconds). */
    scale: z.number().positive().optional(),
  })
  .strict();
type Target = z.infer<typeof target>;

export const parseTransformSchema = z
  .object({
    type: z.literal('parse'),
    /** The text to parse. */
    field: z.string().regex(FIELD_PATH).default('message'),
    /** RE2 syntax with named groups, `(?P<bytes>\d+)`; runs in linear time. */
    regex: z.string().min(1).max(MAX_PATTERN).optional(),
    /** Or a dissect pattern, `%{method} %{path} => generated %{bytes} bytes`. */
    dissect: z.string().min(1).max(MAX_PATTERN).optional(),
    /** Group (or key) → where its value goes and as which type; unmapped groups are not written. */
    fields: z.record(z.string(), z.union([target, z.array(target).min(1)])),
    datasets: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.regex === undefined) === (t.dissect === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['regex'], message: 'give exactly one of `regex` or `dissect`' });
      return;
    }
    let names: readonly string[];
    try {
      names = t.regex !== undefined ? compileCapturing(t.regex).groups : compileDissect(t.dissect!).keys;
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        path: [t.regex !== undefined ? 'regex' : 'dissect'],
        message: `cannot compile: ${(e as Error).message}`,
      });
      return;
    }
    for (const name of Object.keys(t.fields))
      if (!names.includes(name))
        ctx.addIssue({
          code: 'custom',
          path: ['fields', name],
          message: `the pattern has no group '${name}' (it has: ${names.join(', ') || 'none'})`,
        });
  });
export type ParseTransformConfig = z.infer<typeof parseTransformSchema>;

/** The typed value, or undefined when the text is not of that type. */
export function convert(text: string, t: Target): unknown {
  let v: string | number | undefined;
  switch (t.type) {
    case 'string':
      return text;
    case 'int':
      v = /^[+-]?\d{1,15}$/.test(text) ? Number(text) : undefined;
      break;
    case 'float':
      v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$/.test(text) ? Number(text) : undefined;
      if (v !== undefined && !Number.isFinite(v)) v = undefined;
      break;
    case 'ip':
      return isIP(text) !== 0 ? text : undefined;
    case 'timestamp': {
      const ms = /^\d{10}(\.\d+)?$/.test(text)
        ? Number(text) * 1000
        : /^\d{13}$/.test(text)
          ? Number(text)
          : Date.parse(text);
      return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
    }
  }
  return v !== undefined && t.scale !== undefined ? v * t.scale : v;
}

/** Parses one field of each event into typed ECS fields; an event the pattern does not match is left as it is. */
export function createParseTransform(cfg: ParseTransformConfig): (e: LogEvent) => LogEvent {
  const matcher = cfg.regex !== undefined ? compileCapturing(cfg.regex) : compileDissect(cfg.dissect!);
  const mapping = Object.entries(cfg.fields).map(([name, t]) => [name, Array.isArray(t) ? t : [t]] as const);
  return (e) => {
    if (cfg.datasets && !cfg.datasets.includes(e.dataset)) return e;
    const text = getField(e.doc, cfg.field);
    if (typeof text !== 'string' || text.length > MAX_INPUT) return e;
    const groups = matcher.exec(text);
    if (!groups) return e;
    let mismatch = false;
    for (const [name, targets] of mapping) {
      const raw = groups[name];
      if (raw === undefined) continue;
      for (const t of targets) {
        const value = convert(raw, t);
        if (value === undefined) mismatch = true;
        else setField(e.doc, t.field, value);
      }
    }
    if (mismatch) {
      const tags = Array.isArray(e.doc.tags) ? e.doc.tags : [];
      if (!tags.includes(TYPE_MISMATCH_TAG)) e.doc.tags = [...tags, TYPE_MISMATCH_TAG];
    }
    return e;
  };
}
