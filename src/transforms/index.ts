import { z } from 'zod';
import type { Transform } from '../core/component.js';
import type { LogEvent } from '../core/event.js';
import { deleteField, getField, setField } from '../core/fields.js';
import { checkRegex, compileRegex } from '../rules/pattern.js';
import { createParseTransform, parseTransformSchema } from './parse.js';

const only = { datasets: z.array(z.string()).optional() };

export const transformSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('add_fields'), fields: z.record(z.string(), z.unknown()), ...only }).strict(),
  z.object({ type: z.literal('drop_fields'), fields: z.array(z.string()).min(1), ...only }).strict(),
  z
    .object({
      type: z.literal('redact'),
      fields: z.array(z.string()).min(1),
      replacement: z.string().default('[redacted]'),
      ...only,
    })
    .strict(),
  z
    .object({
      type: z.literal('drop'),
      field: z.string(),
      equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
      matches: z.string().optional(),
      ...only,
    })
    .strict()
    .refine(
      (t) => t.equals !== undefined || t.matches !== undefined,
      'neither `equals` nor `matches` — write `equals: VALUE` or `matches: REGEX`',
    )
    .superRefine((t, ctx) => {
      // Refused at load, as in rules: a regex the linear-time engine cannot run.
      const verdict = t.matches === undefined ? { ok: true } : checkRegex(t.matches);
      if (!verdict.ok)
        ctx.addIssue({ code: 'custom', path: ['matches'], message: verdict.reason ?? 'unsafe regex' });
    }),
  parseTransformSchema,
]);
export type TransformConfig = z.infer<typeof transformSchema>;

/** Builds a pure function from a transform's config. */
export function createTransform(cfg: TransformConfig): Transform {
  const applies = cfg.datasets ? (e: LogEvent) => cfg.datasets!.includes(e.dataset) : () => true;
  switch (cfg.type) {
    case 'parse':
      return createParseTransform(cfg);
    case 'add_fields':
      return (e) => {
        if (applies(e)) for (const [k, v] of Object.entries(cfg.fields)) setField(e.doc, k, v);
        return e;
      };
    case 'drop_fields':
      return (e) => {
        if (applies(e)) for (const f of cfg.fields) deleteField(e.doc, f);
        return e;
      };
    case 'redact':
      return (e) => {
        if (applies(e))
          for (const f of cfg.fields)
            if (getField(e.doc, f) !== undefined) setField(e.doc, f, cfg.replacement);
        return e;
      };
    case 'drop': {
      const matches = cfg.matches === undefined ? undefined : compileRegex(cfg.matches);
      return (e) => {
        if (!applies(e)) return e;
        const v = getField(e.doc, cfg.field);
        if (cfg.equals !== undefined && v === cfg.equals) return null;
        if (matches && typeof v === 'string' && matches(v)) return null;
        return e;
      };
    }
  }
}
