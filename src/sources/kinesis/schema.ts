import { z } from 'zod';
import { awsClientOptions, duration, sourceBase } from '../../config/common.js';

/**
 * Share the stream's shards with other daemons (and KCL consumers) through a KCL-compatible DynamoDB
 * lease table. The shard checkpoints then live in the lease rows, not in the state store.
 */
export const kinesisLeasesSchema = z
  .object({
    /** The lease table; the same table as a KCL application (its application name) shares the shards with it. */
    table: z.string().min(3).max(255),
    /** Unique per process; the default is host name, process id and a random suffix. */
    worker_id: z.string().min(1).max(256).optional(),
    /** A lease not renewed for this long is taken over (KCL's failoverTimeMillis). */
    lease_duration: duration.default(10_000),
    /** How often held leases are renewed; the default is a third of lease_duration. */
    renew_interval: duration.optional(),
    /** How often the table is scanned to take free, expired or surplus leases; default twice lease_duration. */
    take_interval: duration.optional(),
    /** Never hold more leases than this (KCL's maxLeasesForWorker). */
    max_leases: z.number().int().min(1).optional(),
    /** Where the lease table is, when not where the stream is (region, endpoint). */
    aws: awsClientOptions.optional(),
  })
  .strict()
  .refine((l) => (l.renew_interval ?? 0) < l.lease_duration, {
    message: 'renew_interval must be shorter than lease_duration, or other workers take the leases',
    path: ['renew_interval'],
  });
export type KinesisLeasesConfig = z.infer<typeof kinesisLeasesSchema>;

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
    leases: kinesisLeasesSchema.optional(),
  })
  .strict();
export type KinesisSourceConfig = z.infer<typeof kinesisSourceSchema>;
