import { z } from 'zod';
import { awsClientOptions, duration, sourceBase } from '../../config/common.js';

/** Read a bucket/prefix with a given parser instead of detecting the format. */
export const formatOverride = z
  .object({
    bucket: z.string().min(3).optional(),
    prefix: z.string().default(''),
    parser: z.string().min(1),
  })
  .strict();
export type FormatOverride = z.infer<typeof formatOverride>;

export const s3SqsSourceSchema = z
  .object({
    ...sourceBase,
    type: z.literal('s3_sqs'),
    /** Detects CloudTrail / classic ELB / ALB / NLB per object (key layout, then content). */
    parser: z.string().default('aws_logs'),
    /** The queue S3 (directly, via SNS or via EventBridge) notifies. Only the daemon needs it. */
    queue_url: z.string().url().optional(),
    /** Long-poll wait per ReceiveMessage (SQS allows up to 20 s). */
    wait_time: duration.default(20_000),
    max_messages: z.number().int().min(1).max(10).default(10),
    /** How long a received message stays hidden; renewed every half of it while objects are read. */
    visibility_timeout: duration.default(300_000),
    /** A message whose objects could not all be delivered shows up again after this long. */
    retry_delay: duration.default(30_000),
    formats: z.array(formatOverride).default([]),
    /** Client settings for SQS (and S3 unless `s3` is given). */
    aws: awsClientOptions.prefault({}),
    /** S3 client settings when they differ from `aws` (another region, an emulator). */
    s3: awsClientOptions.optional(),
  })
  .strict();
export type S3SqsSourceConfig = z.infer<typeof s3SqsSourceSchema>;
