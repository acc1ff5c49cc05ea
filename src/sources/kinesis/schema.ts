import { z } from 'zod';
import { awsClientOptions, duration, sourceBase } from '../../config/common.js';

export const kinesisSourceSchema = z
  .object({
    ...sourceBase,
    type: z.literal('kinesis'),
    stream: z.string().min(1),
    /** Where to begin a shard that has no checkpoint yet. */
    start_position: z.enum(['TRIM_HORIZON', 'LATEST']).default('TRIM_HORIZON'),
    /** Records per GetRecords call (the service allows up to 10,000). */
    batch_size: z.number().int().min(1).max(10_000).default(1000),
    /** Pause between reads of a shard that returned nothing. */
    poll_interval: duration.default(1000),
    /** How often to look for new shards after a reshard. */
    shard_refresh: duration.default(30_000),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type KinesisSourceConfig = z.infer<typeof kinesisSourceSchema>;
