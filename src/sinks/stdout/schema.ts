import { z } from 'zod';
import { sinkBase } from '../../config/common.js';

export const stdoutSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('stdout'),
    /** `doc` prints the ECS document; `envelope` adds id, dataset and origin around it. */
    format: z.enum(['doc', 'envelope']).default('doc'),
  })
  .strict();
export type StdoutSinkConfig = z.infer<typeof stdoutSinkSchema>;
