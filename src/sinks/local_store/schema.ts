import { z } from 'zod';
import { sinkBase } from '../../config/common.js';

export const localStoreSinkSchema = z
  .object({
    ...sinkBase,
    type: z.literal('local_store'),
    /** The DuckDB database file; its folder is created. One daemon writes it at a time. */
    path: z.string().min(1),
    /**
     * Events whose day (from their @timestamp) is older than this many days, and that arrived
     * as long ago, are deleted once a day; 0 keeps everything. Same rule as daily_files.
     */
    retention_days: z.number().int().nonnegative().default(30),
    /** DuckDB memory limit, e.g. `512MB`; DuckDB's default is 80% of the machine's memory. */
    memory_limit: z
      .string()
      .regex(/^\d+(KB|MB|GB)$/)
      .optional(),
  })
  .strict();
export type LocalStoreSinkConfig = z.infer<typeof localStoreSinkSchema>;
