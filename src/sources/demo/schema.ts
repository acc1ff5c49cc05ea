import { z } from 'zod';
import { duration, sourceBase } from '../../config/common.js';

export const demoSourceSchema = z
  .object({
    ...sourceBase,
    type: z.literal('demo'),
    /** What to imitate: CloudWatch subscription payloads from VPC flow logs and from an app. */
    kinds: z
      .array(z.enum(['vpc', 'app']))
      .min(1)
      .default(['vpc', 'app']),
    /** Log events per generated record. */
    events_per_record: z.number().int().min(1).max(10_000).default(50),
    interval: duration.default(2000),
    /** Stop after this many records (0 = never), for smoke tests. */
    max_records: z.number().int().nonnegative().default(0),
    seed: z.number().int().default(42),
  })
  .strict();
export type DemoSourceConfig = z.infer<typeof demoSourceSchema>;
