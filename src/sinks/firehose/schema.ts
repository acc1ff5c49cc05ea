import { z } from 'zod';
import { awsClientOptions, sinkBase } from '../../config/common.js';

export const firehoseSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('firehose'),
    delivery_stream: z.string().min(1),
    /** Records per PutRecordBatch (the service takes at most 500). */
    max_records: z.number().int().min(1).max(500).default(500),
    /** Bytes per PutRecordBatch (the service takes at most 4 MiB). */
    max_bytes: z
      .number()
      .int()
      .min(1024)
      .max(4 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** PutRecordBatch calls in flight at once per write. */
    concurrency: z.number().int().min(1).max(16).default(2),
    aws: awsClientOptions.prefault({}),
  })
  .strict();
export type FirehoseSinkConfig = z.infer<typeof firehoseSinkSchema>;
