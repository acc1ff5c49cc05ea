import { z } from 'zod';
import { awsClientOptions } from '../../config/common.js';

export const s3StateSchema = z
  .object({
    type: z.literal('s3'),
    bucket: z.string().min(3),
    /** Key prefix; each checkpoint is `<prefix><key>.json`. */
    prefix: z.string().default('logferry/state/'),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type S3StateConfig = z.infer<typeof s3StateSchema>;
