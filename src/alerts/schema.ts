import { z } from 'zod';
import { componentName, duration } from '../config/common.js';
import { SEVERITIES } from '../core/contracts.js';
import { sinkAlertSchema } from './sink/schema.js';
import { slackAlertSchema } from './slack/schema.js';
import { snsAlertSchema } from './sns/schema.js';
import { webhookAlertSchema } from './webhook/schema.js';

const severity = z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']);

export const alertOutputSchema = z.discriminatedUnion('type', [
  snsAlertSchema,
  slackAlertSchema,
  webhookAlertSchema,
  sinkAlertSchema,
]);
export type AlertOutputConfig = z.infer<typeof alertOutputSchema>;

/** An alert matching every given criterion goes to `outputs`. */
export const routeSchema = z
  .object({
    min_severity: severity.optional(),
    severities: z.array(severity).optional(),
    /** Any of these tags; a trailing `*` matches a prefix (`attack.t1562*`). */
    tags: z.array(z.string()).optional(),
    rules: z.array(z.string()).optional(),
    outputs: z.array(componentName).min(1),
  })
  .strict();
export type RouteConfig = z.infer<typeof routeSchema>;

export const alertsConfigSchema = z
  .object({
    outputs: z.array(alertOutputSchema).min(1, 'configure at least one alert output'),
    /** Without routes every alert goes to every output. */
    routes: z.array(routeSchema).default([]),
    /** Where alerts that match no route go (default: every output): alerts are never dropped. */
    default_outputs: z.array(componentName).optional(),
    max_attempts: z.number().int().min(1).max(20).default(4),
    backoff: duration.default(500),
    max_backoff: duration.default(30_000),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.outputs.forEach((o, i) => {
      if (names.has(o.name))
        ctx.addIssue({
          code: 'custom',
          path: ['outputs', i, 'name'],
          message: `duplicate alert output name '${o.name}'`,
        });
      names.add(o.name);
    });
    const check = (list: string[] | undefined, path: (string | number)[]) => {
      for (const [j, n] of (list ?? []).entries())
        if (!names.has(n))
          ctx.addIssue({ code: 'custom', path: [...path, j], message: `no alert output named '${n}'` });
    };
    for (const [i, r] of cfg.routes.entries()) check(r.outputs, ['routes', i, 'outputs']);
    check(cfg.default_outputs, ['default_outputs']);
  });
export type AlertsConfig = z.infer<typeof alertsConfigSchema>;
