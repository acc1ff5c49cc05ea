import { z } from 'zod';
import { duration } from '../config/common.js';
import { SEVERITIES } from './types.js';

const fieldPath = z.string().regex(/^[@A-Za-z_][\w@.-]*$/, 'write a dotted field path');

export const exampleSchema = z
  .object({
    /** An ECS document as the parsers produce it. */
    event: z.record(z.string(), z.unknown()).optional(),
    /** Raw input for `parser` (a CloudTrail record, a Duo log event, a log line). */
    input: z.unknown().optional(),
    parser: z.string().optional(),
    dataset: z.string().optional(),
    repeat: z.number().int().min(1).max(10_000).default(1),
    step: duration.default(1000),
    vary: z.record(fieldPath, z.array(z.unknown()).min(1)).optional(),
  })
  .strict()
  .refine((e) => (e.event === undefined) !== (e.input === undefined), 'give either `event` or `input`')
  .refine((e) => e.input === undefined || e.parser !== undefined, '`input` needs a `parser`');

export const aggregateSchema = z
  .object({
    function: z.enum(['count', 'sum', 'distinct_count', 'ratio', 'new_value']),
    /** The summed field (sum), counted values (distinct_count) or watched value (new_value). */
    field: fieldPath.optional(),
    /** For `ratio`: events matching this over all events matching the rule. */
    where: z.unknown().optional(),
    group_by: z.array(fieldPath).default([]),
    window: duration,
    compare: z.enum(['>', '>=', '<', '<=']).default('>='),
    threshold: z.number().default(1),
    min_count: z.number().int().min(1).default(1),
  })
  .strict()
  .refine((a) => !['sum', 'distinct_count', 'new_value'].includes(a.function) || a.field, {
    message: 'this function needs `field`',
    path: ['field'],
  })
  .refine((a) => a.function !== 'ratio' || a.where !== undefined, {
    message: '`ratio` needs `where` (the events counted in the numerator)',
    path: ['where'],
  })
  .refine((a) => a.window > 0, { message: 'window must be longer than 0', path: ['window'] });

export const ruleFileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lowercase letters, digits, dot, dash, underscore'),
    title: z.string().min(1).max(200),
    description: z.string().default(''),
    severity: z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']),
    /** MITRE ATT&CK ids (attack.t1562.008, attack.defense_evasion) and free tags. */
    tags: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_.:-]*$/, 'tags are lowercase, like attack.t1098'))
      .default([]),
    dataset: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** Values a condition can use as `$name`; the config can override them per rule. */
    params: z.record(z.string(), z.unknown()).default({}),
    condition: z.unknown(),
    aggregate: aggregateSchema.optional(),
    dedup: z
      .object({ fields: z.array(fieldPath).optional(), throttle: duration.default(0) })
      .strict()
      .optional(),
    link: z.string().optional(),
    who: z.array(fieldPath).optional(),
    where: z.array(fieldPath).optional(),
    enabled: z.boolean().default(true),
    examples: z
      .object({ match: z.array(exampleSchema).default([]), no_match: z.array(exampleSchema).default([]) })
      .strict()
      .prefault({}),
  })
  .strict();

export type RuleFile = z.infer<typeof ruleFileSchema>;
