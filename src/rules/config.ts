import { z } from 'zod';
import { awsClientOptions, duration } from '../config/common.js';
import { SEVERITIES } from './types.js';

export const rulesConfigSchema = z
  .object({
    /** Rule files and folders (YAML, logferry format or Sigma for aws/cloudtrail). */
    paths: z.array(z.string().min(1)).min(1).default(['rules']),
    /** Per rule id: turn it off, change its severity, or set its params (thresholds…). */
    overrides: z
      .record(
        z.string(),
        z
          .object({
            enabled: z.boolean().optional(),
            severity: z
              .enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical'])
              .optional(),
            params: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      )
      .default({}),
    /** Where windowed rules keep counts: memory (saved in the state store) or DynamoDB (Lambda). */
    window_store: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('memory'), persist: z.boolean().default(true) }).strict(),
        z
          .object({
            type: z.literal('dynamodb'),
            /** Table with key `pk` (S, hash) + `sk` (N, range) and TTL on attribute `ttl`. */
            table: z.string().min(3),
            ...awsClientOptions.shape,
          })
          .strict(),
      ])
      .prefault({ type: 'memory' }),
    /** How often the daemon saves window state. */
    flush_every: duration.default(5000),
    /** Refuse to start when a rule tests a field its dataset never has. */
    strict_fields: z.boolean().default(false),
  })
  .strict();
export type RulesConfig = z.infer<typeof rulesConfigSchema>;
