import { z } from 'zod';
import { awsClientOptions, sinkBase } from '../../config/common.js';

export const s3ArchiveSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('s3_archive'),
    bucket: z.string().min(3),
    /** Key prefix, e.g. `archive/`; objects go below it by dataset, date and hour. */
    prefix: z.string().default('logferry/'),
    /**
     * `hive`: `dataset=aws.cloudtrail/date=2026-11-25/hour=10/…` (Athena, Glue and Spark read
     * the partitions by themselves); `path`: `aws.cloudtrail/2026/11/25/10/…`.
     */
    partitioning: z.enum(['hive', 'path']).default('hive'),
    /** Objects larger than this go up as multipart uploads in parts of this size. */
    part_size: z
      .number()
      .int()
      .min(5 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    storage_class: z
      .enum(['STANDARD', 'STANDARD_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'ONEZONE_IA'])
      .optional(),
    /** SSE-KMS key id or ARN; without it the bucket's default encryption applies. */
    kms_key_id: z.string().optional(),
    /** Event ids remembered so an event sent again in another write is not archived twice. */
    remember_ids: z.number().int().min(0).default(200_000),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type S3ArchiveSinkConfig = z.infer<typeof s3ArchiveSinkSchema>;
