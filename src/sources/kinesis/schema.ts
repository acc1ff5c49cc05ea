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
    /**
     * Commit the checkpoint at least every this many records and raw bytes, even within one
     * GetRecords read: a crash replays at most this much, which sinks' replay guards must cover.
     */
    commit_every: z
      .object({
        records: z.number().int().min(1).default(100),
        bytes: z
          .number()
          .int()
          .min(1)
          .default(4 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type KinesisSourceConfig = z.infer<typeof kinesisSourceSchema>;
