import { z } from 'zod';
import { awsClientOptions, sinkBase } from '../../config/common.js';
import { recordFormat } from '../record-format.js';

export const kinesisSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('kinesis'),
    stream: z.string().min(1),
    /**
     * Partition key per event: `id` (the event id, spreads evenly and keeps a replayed event on
     * one shard) or a dotted path into the document, e.g. `user.name` (falls back to the id).
     */
    partition_key: z.string().default('id'),
    /** `ecs`: the normalized document; `original`: the source event unchanged (the Go Duo function's records). */
    format: recordFormat,
    /** Records per PutRecords call (the service allows 500). */
    max_records_per_call: z.number().int().min(1).max(500).default(500),
    /** Bytes per PutRecords call, data plus partition keys (the service allows 5 MiB). */
    max_bytes_per_call: z
      .number()
      .int()
      .min(1024)
      .max(5 * 1024 * 1024)
      .default(5 * 1024 * 1024),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type KinesisSinkConfig = z.infer<typeof kinesisSinkSchema>;
