import { z } from 'zod';
import { awsClientOptions } from '../../config/common.js';

export const s3DeadLetterSchema = z
  .object({
    type: z.literal('s3'),
    bucket: z.string().min(3),
    /** Each dead letter is `<prefix><YYYY-MM-DD>/<time>-<random>.json`. */
    prefix: z.string().default('logferry/dead-letter/'),
    /** SSE-KMS key id or ARN: dead letters hold raw log data. */
    kms_key_id: z.string().optional(),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type S3DeadLetterConfig = z.infer<typeof s3DeadLetterSchema>;
